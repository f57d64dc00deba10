"""The cache's remote tier: a Remote Execution API server (ActionCache + CAS over gRPC).

`settings` reads where the remote is and how to use it (`RUNGO_REMOTE_CACHE`, ...); `client`
speaks to it with the REAPI's generated classes (`reapi/`); `tiered` puts it under the local
store; `upload` finishes uploads in the background after the process that made the outputs has
gone on (exec'd the program, answered `close`). Importing this package loads none of them; grpc
and protobuf load only when a remote is configured and a lookup or upload happens.
"""
