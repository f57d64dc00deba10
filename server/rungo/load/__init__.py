"""The load stage: from go.mod, go.work and source directories to the packages a run builds."""
