-- :checkhealth rungo
local M = {}

local health = vim.health or require("health")
local start = health.start or health.report_start
local ok = health.ok or health.report_ok
local warn = health.warn or health.report_warn
local error = health.error or health.report_error
local info = health.info or health.report_info

function M.check()
  local rungo = require("rungo")
  start("rungo")
  local cmd = rungo.server_cmd()
  local py = cmd[1]
  if vim.fn.executable(py) == 1 then
    ok("Python: " .. vim.fn.exepath(py))
  else
    error("Python not found: " .. py, { "Set require('rungo').setup({ python = '/path/to/python3' })" })
    return
  end
  local out = vim.fn.system({ py, "-m", "rungo", "version" })
  if vim.v.shell_error == 0 then
    ok("rungo: " .. vim.trim(out))
  else
    error("rungo is not importable by " .. py, {
      "rungo is installed from a checkout of its repository, not by a package-registry name:",
      "git clone <the rungo repository> && " .. py .. " -m pip install -e ./rungo",
      "or point setup({ python = ... }) at a Python where it is installed",
    })
    return
  end
  local env = vim.fn.system({ py, "-m", "rungo", "env" })
  if vim.v.shell_error == 0 then
    for _, line in ipairs(vim.split(env, "\n", { trimempty = true })) do
      if line:match("^RUNGO_GO=") or line:match("^GOVERSION=") or line:match("^RUNGO_GO_REASON=") then
        ok("Go toolchain: " .. line)
      end
    end
  else
    warn("no Go toolchain: " .. vim.trim(env))
  end
  local client = rungo.get_client(nil)
  if client then
    ok(string.format("server running (client id %d, root %s)", client.id, tostring(client.config.root_dir)))
  else
    info("server not running (it starts with the first Go buffer)")
  end
  if rungo.state.last_error then
    warn("server: " .. rungo.state.last_error)
  end
end

return M
