-- The language server's client: the command that starts `rungo lsp`, the workspace root, the
-- client of a buffer, requests and notifications across Neovim versions, and starting the server.
local C = {}

local uv = vim.loop or vim.uv

local function rungo()
  return require("rungo")
end

function C.has(v)
  return vim.fn.has("nvim-" .. v) == 1
end

function C.request(client, method, params, handler, bufnr)
  if C.has("0.11") then
    return client:request(method, params, handler, bufnr)
  end
  return client.request(method, params, handler, bufnr)
end

function C.notify(client, method, params)
  if C.has("0.11") then
    return client:notify(method, params)
  end
  return client.notify(method, params)
end

function C.server_cmd()
  local config = rungo().config
  if config.cmd then
    return config.cmd
  end
  local py = config.python or (vim.fn.executable("python3") == 1 and "python3" or "python")
  return { py, "-m", "rungo", "lsp" }
end

function C.find_root(path)
  local dir = vim.fn.fnamemodify(path, ":p:h")
  while dir and dir ~= "" do
    for _, marker in ipairs(rungo().config.root_markers) do
      if uv.fs_stat(dir .. "/" .. marker) then
        return dir
      end
    end
    local parent = vim.fn.fnamemodify(dir, ":h")
    if parent == dir then
      break
    end
    dir = parent
  end
  return vim.fn.fnamemodify(path, ":p:h")
end

-- Whether gopls serves Go files in this Neovim (enabled with vim.lsp.enable, or running).
function C.gopls_serves()
  if vim.lsp.is_enabled and vim.lsp.is_enabled("gopls") then
    return true
  end
  if vim.lsp.get_clients then
    return #vim.lsp.get_clients({ name = "gopls" }) > 0
  end
  return false
end

function C.init_options(root)
  local opts = rungo().server_settings(root)
  opts.rungoOutput = true
  opts.goplsActive = rungo().gopls_serves()
  return opts
end

function C.get_client(bufnr)
  local clients
  if vim.lsp.get_clients then
    clients = vim.lsp.get_clients({ name = "rungo", bufnr = bufnr })
  else
    clients = {}
    for _, c in pairs(vim.lsp.get_active_clients()) do
      if c.name == "rungo" and (bufnr == nil or vim.lsp.buf_is_attached(bufnr, c.id)) then
        table.insert(clients, c)
      end
    end
  end
  return clients[1]
end

function C.any_client()
  return rungo().get_client(nil)
end

function C.send_command(command, arg, handler)
  local client = C.any_client()
  if not client then
    vim.notify("rungo: the language server is not running", vim.log.levels.WARN)
    return
  end
  C.request(client, "workspace/executeCommand", { command = command, arguments = { arg } }, handler or function() end)
end

-- Starting the server ----------------------------------------------------------------------

function C.lsp_config(root)
  local M = rungo()
  return {
    name = "rungo",
    cmd = M.server_cmd(),
    filetypes = { "go" },
    root_markers = M.config.root_markers,
    init_options = M.init_options(root),
    settings = { rungo = M.server_settings(root) },
    handlers = M.handlers,
    on_init = function()
      M.state.started = M.state.started + 1
      vim.schedule(function()
        M.refresh_lenses()
      end)
    end,
    on_exit = function(code, signal)
      if code ~= 0 then
        M.state.last_error = string.format("exited with %s (signal %s)", tostring(code), tostring(signal))
      end
    end,
  }
end

function C.start_for(bufnr)
  local name = vim.api.nvim_buf_get_name(bufnr)
  if name == "" or vim.bo[bufnr].buftype ~= "" then
    return
  end
  local root = C.find_root(name)
  local cfg = rungo().lsp_config(root)
  cfg.root_dir = root
  cfg.workspace_folders = { { uri = vim.uri_from_fname(cfg.root_dir), name = cfg.root_dir } }
  if vim.lsp.start then
    vim.lsp.start(cfg, { bufnr = bufnr })
  else
    local existing = rungo().get_client(nil)
    local id = existing and existing.id or vim.lsp.start_client(cfg)
    if id then
      vim.lsp.buf_attach_client(bufnr, id)
    end
  end
end

return C
