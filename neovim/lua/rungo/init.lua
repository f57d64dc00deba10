-- rungo for Neovim: starts `rungo lsp` for Go buffers, refreshes the Run lens,
-- and shows each run in a terminal buffer per package.
local M = {}

local uv = vim.loop or vim.uv

M.config = {
  cmd = nil, -- default: { python, "-m", "rungo", "lsp" }
  python = nil, -- default: python3 on PATH
  root_markers = { "go.work", "go.mod", ".git" },
  settings = {}, -- goPath, buildFlags, env, args, diagnostics = { enabled, delayMs, explainExcluded }
  split = "botright 12split",
  notify = true,
}

M.runs = {} -- runId -> { buf, chan, pkg, started }
M.terminals = {} -- package dir -> buf
M.last = nil -- { uri = ..., args = ... }
M.state = { started = 0, last_error = nil }

local has = function(v)
  return vim.fn.has("nvim-" .. v) == 1
end

local function request(client, method, params, handler, bufnr)
  if has("0.11") then
    return client:request(method, params, handler, bufnr)
  end
  return client.request(method, params, handler, bufnr)
end

function M.server_cmd()
  if M.config.cmd then
    return M.config.cmd
  end
  local py = M.config.python or (vim.fn.executable("python3") == 1 and "python3" or "python")
  return { py, "-m", "rungo", "lsp" }
end

local function find_root(path)
  local dir = vim.fn.fnamemodify(path, ":p:h")
  while dir and dir ~= "" do
    for _, marker in ipairs(M.config.root_markers) do
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

function M.init_options()
  local opts = vim.deepcopy(M.config.settings or {})
  opts.rungoOutput = true
  return opts
end

function M.get_client(bufnr)
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

local function any_client()
  return M.get_client(nil)
end

-- Terminal buffer per package ------------------------------------------------------------

local function term_window(buf)
  for _, win in ipairs(vim.api.nvim_list_wins()) do
    if vim.api.nvim_win_get_buf(win) == buf then
      return win
    end
  end
  return nil
end

local function open_terminal(pkg, name)
  local old = M.terminals[pkg]
  local win = old and vim.api.nvim_buf_is_valid(old) and term_window(old) or nil
  local buf = vim.api.nvim_create_buf(false, true)
  if win then
    vim.api.nvim_win_set_buf(win, buf)
  else
    local cur = vim.api.nvim_get_current_win()
    vim.cmd(M.config.split)
    win = vim.api.nvim_get_current_win()
    vim.api.nvim_win_set_buf(win, buf)
    vim.api.nvim_set_current_win(cur)
  end
  if old and vim.api.nvim_buf_is_valid(old) then
    pcall(vim.api.nvim_buf_delete, old, { force = true })
  end
  pcall(vim.api.nvim_buf_set_name, buf, "rungo://" .. name .. "#" .. buf)
  M.terminals[pkg] = buf
  return buf, win
end

local function send_command(command, arg, handler)
  local client = any_client()
  if not client then
    vim.notify("rungo: the language server is not running", vim.log.levels.WARN)
    return
  end
  request(client, "workspace/executeCommand", { command = command, arguments = { arg } }, handler or function() end)
end

local function on_started(_, result)
  if not result or not result.runId then
    return
  end
  local buf, win = open_terminal(result.package or "", result.name or "run")
  local run = { buf = buf, pkg = result.package, name = result.name, started = uv.hrtime() }
  run.chan = vim.api.nvim_open_term(buf, {
    on_input = function(_, _, _, data)
      M.state.inputs = (M.state.inputs or 0) + 1
      if data == "\3" then
        send_command("rungo.stop", { runId = result.runId })
      else
        send_command("rungo.input", { runId = result.runId, data = data })
      end
    end,
  })
  M.runs[result.runId] = run
  vim.b[buf].rungo_run_id = result.runId
  if win then
    send_command("rungo.resize", {
      runId = result.runId,
      cols = vim.api.nvim_win_get_width(win),
      rows = vim.api.nvim_win_get_height(win),
    })
  end
end

local function on_output(_, result)
  local run = result and M.runs[result.runId]
  if run and run.chan and type(result.data) == "string" then
    pcall(vim.api.nvim_chan_send, run.chan, result.data)
  end
end

function M.describe(result)
  if result.stage ~= "run" then
    return (result.stage or "build") .. " failed"
  end
  if result.signal and result.signal ~= vim.NIL then
    return string.format("%s · %d ms", result.signal, result.durationMs or 0)
  end
  return string.format("exit %s · %d ms", tostring(result.exitCode), result.durationMs or 0)
end

local function on_exited(_, result)
  local run = result and M.runs[result.runId]
  if not run then
    return
  end
  local text = M.describe(result)
  if run.chan then
    pcall(vim.api.nvim_chan_send, run.chan, "\r\n[" .. text .. "]\r\n")
  end
  run.result = text
  vim.b[run.buf].rungo_result = text
  M.state.last_result = text
  if M.config.notify then
    local level = (result.stage == "run" and result.exitCode == 0) and vim.log.levels.INFO or vim.log.levels.WARN
    vim.notify("rungo: " .. (run.name or "run") .. ": " .. text, level)
  end
  M.runs[result.runId] = nil
  M.finished = M.finished or {}
  M.finished[result.runId] = run
  M.refresh_lenses()
end

M.handlers = {
  ["rungo/runStarted"] = on_started,
  ["rungo/output"] = on_output,
  ["rungo/runExited"] = on_exited,
}

-- Code lenses: only ask an initialized server (Neovim 0.7 stops refreshing a buffer for good
-- after a refresh that no server could answer).
function M.refresh_lenses(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  local client = M.get_client(bufnr)
  if not client or client.initialized == false or client.is_stopped and client.is_stopped() then
    return
  end
  if has("0.10") then
    pcall(vim.lsp.codelens.refresh, { bufnr = bufnr })
  elseif bufnr == vim.api.nvim_get_current_buf() then
    pcall(vim.lsp.codelens.refresh)
  end
end

-- Commands ---------------------------------------------------------------------------------

function M.run(opts)
  opts = opts or {}
  local uri = opts.uri or vim.uri_from_bufnr(0)
  local arg = { uri = uri }
  if opts.args then
    arg.args = opts.args
  end
  M.last = arg
  send_command("rungo.run", arg)
end

function M.run_with_arguments(arg)
  arg = arg or { uri = vim.uri_from_bufnr(0) }
  vim.ui.input({ prompt = "Arguments: " }, function(input)
    if input == nil then
      return
    end
    M.run({ uri = arg.uri, args = vim.split(input, "%s+", { trimempty = true }) })
  end)
end

function M.rerun()
  if not M.last then
    vim.notify("rungo: nothing has run yet", vim.log.levels.INFO)
    return
  end
  send_command("rungo.run", M.last)
end

function M.stop()
  local id = vim.b.rungo_run_id
  if id and not M.runs[id] then
    id = nil
  end
  send_command("rungo.stop", id and { runId = id } or {})
end

-- The lens on (or nearest above) the cursor line whose title starts with "▶ Run".
function M.run_lens(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  local lenses = vim.lsp.codelens.get(bufnr) or {}
  local line = vim.api.nvim_win_get_cursor(0)[1] - 1
  local best
  for _, lens in ipairs(lenses) do
    if lens.command and lens.command.title == "▶ Run" then
      if not best or math.abs(lens.range.start.line - line) < math.abs(best.range.start.line - line) then
        best = lens
      end
    end
  end
  if not best then
    vim.notify("rungo: no ▶ Run lens in this buffer", vim.log.levels.WARN)
    return
  end
  local arg = best.command.arguments and best.command.arguments[1] or { uri = vim.uri_from_bufnr(bufnr) }
  M.last = arg
  send_command(best.command.command, arg)
end

local function on_resize()
  for id, run in pairs(M.runs) do
    local win = term_window(run.buf)
    if win then
      send_command("rungo.resize", {
        runId = id,
        cols = vim.api.nvim_win_get_width(win),
        rows = vim.api.nvim_win_get_height(win),
      })
    end
  end
end

-- Starting the server ----------------------------------------------------------------------

function M.lsp_config()
  return {
    name = "rungo",
    cmd = M.server_cmd(),
    filetypes = { "go" },
    root_markers = M.config.root_markers,
    init_options = M.init_options(),
    settings = { rungo = M.config.settings },
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

local function start_for(bufnr)
  local name = vim.api.nvim_buf_get_name(bufnr)
  if name == "" or vim.bo[bufnr].buftype ~= "" then
    return
  end
  local cfg = M.lsp_config()
  cfg.root_dir = find_root(name)
  cfg.workspace_folders = { { uri = vim.uri_from_fname(cfg.root_dir), name = cfg.root_dir } }
  if vim.lsp.start then
    vim.lsp.start(cfg, { bufnr = bufnr })
  else
    local existing = M.get_client(nil)
    local id = existing and existing.id or vim.lsp.start_client(cfg)
    if id then
      vim.lsp.buf_attach_client(bufnr, id)
    end
  end
end

function M.setup(opts)
  M.config = vim.tbl_deep_extend("force", M.config, opts or {})
  vim.lsp.commands["rungo.runWithArguments"] = function(command)
    M.run_with_arguments(command.arguments and command.arguments[1])
  end
  local group = vim.api.nvim_create_augroup("rungo", { clear = true })
  if has("0.11") and vim.lsp.config and vim.lsp.enable and not M.config.legacy_start then
    vim.lsp.config("rungo", M.lsp_config())
    vim.lsp.enable("rungo")
  else
    vim.api.nvim_create_autocmd("FileType", {
      group = group,
      pattern = "go",
      callback = function(ev)
        start_for(ev.buf)
      end,
    })
    for _, b in ipairs(vim.api.nvim_list_bufs()) do
      if vim.api.nvim_buf_is_loaded(b) and vim.bo[b].filetype == "go" then
        start_for(b)
      end
    end
  end
  local refresh = function(ev)
    M.refresh_lenses(ev and ev.buf or nil)
  end
  if vim.fn.exists("##LspAttach") == 1 then
    vim.api.nvim_create_autocmd("LspAttach", { group = group, callback = refresh })
  end
  vim.api.nvim_create_autocmd({ "BufEnter", "BufWritePost", "InsertLeave" }, {
    group = group,
    pattern = "*.go",
    callback = refresh,
  })
  vim.api.nvim_create_autocmd("VimResized", { group = group, callback = on_resize })
  if vim.fn.exists("##WinResized") == 1 then
    vim.api.nvim_create_autocmd("WinResized", { group = group, callback = on_resize })
  end
end

return M
