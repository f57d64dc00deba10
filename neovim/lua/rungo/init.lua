-- rungo for Neovim: starts `rungo lsp` for Go buffers, refreshes the Run lens,
-- and shows each run in a terminal buffer per package.
local M = {}

local uv = vim.loop or vim.uv
local shell = require("rungo.shell")

M.config = {
  cmd = nil, -- default: { python, "-m", "rungo", "lsp" }
  python = nil, -- default: python3 on PATH
  root_markers = { "go.work", "go.mod", ".git" },
  settings = {}, -- what you set of the server's settings (rungo.defaults lists them with their defaults)
  configurations_file = nil, -- default: stdpath("state") .. "/rungo/configurations.json"
  split = "botright 12split",
  notify = true,
}

M.defaults = require("rungo.defaults")
M.runs = {} -- runId -> { buf, chan, pkg, name, started }: the runs in progress
M.terminals = {} -- package dir -> the terminal buffer of its latest run
M.last = nil -- { uri = ..., args = ..., configuration = ... }: what :RungoRerun runs
M.state = { started = 0, last_error = nil, last_result = nil }

local has = function(v)
  return vim.fn.has("nvim-" .. v) == 1
end

local function request(client, method, params, handler, bufnr)
  if has("0.11") then
    return client:request(method, params, handler, bufnr)
  end
  return client.request(method, params, handler, bufnr)
end

local function notify(client, method, params)
  if has("0.11") then
    return client:notify(method, params)
  end
  return client.notify(method, params)
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

-- Whether gopls serves Go files in this Neovim (enabled with vim.lsp.enable, or running).
function M.gopls_serves()
  if vim.lsp.is_enabled and vim.lsp.is_enabled("gopls") then
    return true
  end
  if vim.lsp.get_clients then
    return #vim.lsp.get_clients({ name = "gopls" }) > 0
  end
  return false
end

function M.init_options(root)
  local opts = M.server_settings(root)
  opts.rungoOutput = true
  opts.goplsActive = M.gopls_serves()
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
  local known = M.runs[result.runId]
  if known and result.restart then
    -- A watch restarted its program after a save: the same terminal goes on.
    if known.chan then
      pcall(vim.api.nvim_chan_send, known.chan, "\r\n\27[2m[restarted after save]\27[0m\r\n")
    end
    known.restarts = (known.restarts or 0) + 1
    return
  end
  local buf, win = open_terminal(result.package or "", result.name or "run")
  local run = { buf = buf, pkg = result.package, name = result.name, started = uv.hrtime(), watch = result.watch == true }
  run.chan = vim.api.nvim_open_term(buf, {
    on_input = function(_, _, _, data)
      if data == "\3" then
        send_command("rungo.stop", { runId = result.runId })
      else
        send_command("rungo.input", { runId = result.runId, data = data })
      end
    end,
  })
  M.runs[result.runId] = run
  if run.watch then
    M.refresh_lenses()
  end
  vim.b[buf].rungo_run_id = result.runId
  vim.b[buf].rungo_package = result.package
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
  local arg = { uri = uri, files = opts.files, args = opts.args, configuration = opts.configuration }
  M.last = arg
  send_command("rungo.run", arg)
end

-- `:RungoWatch`: rerun-on-save for the package of the current buffer, in one terminal, until `:RungoStop`.
function M.watch(opts)
  opts = opts or {}
  local arg = { uri = opts.uri or vim.uri_from_bufnr(0), files = opts.files, watch = true }
  send_command("rungo.run", arg)
end

-- `:RungoRun a "b c"`: the words of a command line, as a shell splits them.
function M.run_command_line(text)
  local args, err = shell.split(text or "")
  if not args then
    vim.notify("rungo: " .. err, vim.log.levels.ERROR)
    return
  end
  M.run({ args = (#args > 0) and args or nil })
end

function M.run_with_arguments(arg)
  arg = arg or { uri = vim.uri_from_bufnr(0) }
  vim.ui.input({ prompt = "Arguments: " }, function(input)
    if input == nil then
      return
    end
    local args, err = shell.split(input)
    if not args then
      vim.notify("rungo: " .. err, vim.log.levels.ERROR)
      return
    end
    M.run({ uri = arg.uri, files = arg.files, args = args })
  end)
end

-- Run configurations ------------------------------------------------------------------------
-- Saved per workspace root in a JSON file; setup({ settings = { configurations = ... } }) adds its own.

local function root_of(path)
  local client = M.get_client(nil)
  return client and client.config.root_dir or find_root(path)
end

function M.configurations_file()
  if M.config.configurations_file then
    return M.config.configurations_file
  end
  local ok, state = pcall(vim.fn.stdpath, "state") -- Neovim 0.7 has no "state"
  return (ok and state or vim.fn.stdpath("data")) .. "/rungo/configurations.json"
end

local function read_saved()
  local f = io.open(M.configurations_file(), "r")
  if not f then
    return {}
  end
  local ok, data = pcall(vim.json.decode, f:read("*a"))
  f:close()
  return ok and type(data) == "table" and data or {}
end

local function write_saved(all)
  local file = M.configurations_file()
  vim.fn.mkdir(vim.fn.fnamemodify(file, ":h"), "p")
  local f = assert(io.open(file, "w"))
  f:write(vim.json.encode(all))
  f:close()
end

-- The settings sent to the server: setup's, with this root's saved configurations added.
function M.server_settings(root)
  local s = vim.deepcopy(M.config.settings or {})
  local saved = root and read_saved()[root] or nil
  if saved then
    s.configurations = vim.list_extend(vim.deepcopy(s.configurations or {}), saved.configurations or {})
    s.lastConfiguration = vim.tbl_extend("force", s.lastConfiguration or {}, saved.lastConfiguration or {})
  end
  if s.lastConfiguration and next(s.lastConfiguration) == nil then
    s.lastConfiguration = nil
  end
  return s
end

local function push_settings(root)
  local client = any_client()
  if client then
    notify(client, "workspace/didChangeConfiguration", { settings = { rungo = M.server_settings(root) } })
  end
end

-- The key of the current buffer's target: its package directory relative to the root ("." for the root).
function M.target_key(bufnr)
  local file = vim.api.nvim_buf_get_name(bufnr or 0)
  local root = root_of(file)
  local dir = vim.fn.fnamemodify(file, ":p:h")
  if dir == root then
    return ".", root
  end
  if vim.startswith(dir, root .. "/") then
    return dir:sub(#root + 2), root
  end
  return dir, root
end

function M.configurations(key, root)
  local out = {}
  for _, c in ipairs(M.server_settings(root).configurations or {}) do
    if c.package == key then
      table.insert(out, c)
    end
  end
  return out
end

-- Saves configuration c (replacing the one called old_name, or its own name) and makes it the last.
function M.save_configuration(c, root, old_name)
  local all = read_saved()
  local mine = all[root] or { configurations = {}, lastConfiguration = {} }
  local kept = {}
  for _, x in ipairs(mine.configurations or {}) do
    if not (x.package == c.package and x.name == (old_name or c.name)) then
      table.insert(kept, x)
    end
  end
  table.insert(kept, c)
  mine.configurations = kept
  mine.lastConfiguration = mine.lastConfiguration or {}
  if vim.tbl_isempty(mine.lastConfiguration) then
    mine.lastConfiguration = vim.empty_dict()
  end
  mine.lastConfiguration[c.package] = c.name
  all[root] = mine
  write_saved(all)
  push_settings(root)
end

function M.remove_configuration(c, root)
  local all = read_saved()
  local mine = all[root]
  if not mine then
    return
  end
  mine.configurations = vim.tbl_filter(function(x)
    return not (x.package == c.package and x.name == c.name)
  end, mine.configurations or {})
  write_saved(all)
  push_settings(root)
end

local function ask(prompt, default, parse, done)
  vim.ui.input({ prompt = prompt, default = default }, function(input)
    if input == nil then
      return
    end
    local value, err = parse(input)
    if value == nil then
      vim.notify("rungo: " .. err, vim.log.levels.ERROR)
      return
    end
    done(value)
  end)
end

local function same(s)
  return vim.trim(s)
end

-- Asks for each field of a configuration in turn, then calls done with it.
function M.edit_configuration(c, done)
  ask("Name: ", c.name or "", function(s)
    return s ~= "" and vim.trim(s) or nil, "a name is needed"
  end, function(name)
    ask("Arguments: ", shell.join(c.args), shell.split, function(args)
      local env_words = {}
      for k, v in pairs(c.env or {}) do
        table.insert(env_words, k .. "=" .. v)
      end
      ask("Environment (KEY=value …): ", shell.join(env_words), shell.env, function(env)
        ask("Working directory (relative to the package): ", c.cwd or "", same, function(cwd)
          ask("Build flags: ", shell.join(c.buildFlags), shell.split, function(flags)
            done({ name = name, package = c.package, args = args, env = next(env) and env or vim.empty_dict(),
              cwd = cwd, buildFlags = flags })
          end)
        end)
      end)
    end)
  end)
end

-- :RungoConfig: choose a configuration of this package to run, edit or remove, or add one.
function M.config_command()
  local bufnr = vim.api.nvim_get_current_buf()
  local uri = vim.uri_from_bufnr(bufnr)
  local key, root = M.target_key(bufnr)
  local mine = M.configurations(key, root)
  local items = vim.deepcopy(mine)
  table.insert(items, { add = true })
  vim.ui.select(items, {
    prompt = "Run configuration of " .. key,
    format_item = function(c)
      if c.add then
        return "Add configuration…"
      end
      return c.name .. " — " .. (shell.join(c.args) ~= "" and shell.join(c.args) or "no arguments")
    end,
  }, function(choice)
    if not choice then
      return
    end
    if choice.add then
      M.edit_configuration({ name = "config " .. (#mine + 1), package = key }, function(c)
        M.save_configuration(c, root)
        M.run({ uri = uri, configuration = c.name })
      end)
      return
    end
    vim.ui.select({ "Run", "Edit", "Remove" }, { prompt = choice.name }, function(action)
      if action == "Run" then
        M.save_configuration(choice, root)
        M.run({ uri = uri, configuration = choice.name })
      elseif action == "Edit" then
        M.edit_configuration(choice, function(c)
          M.save_configuration(c, root, choice.name)
        end)
      elseif action == "Remove" then
        M.remove_configuration(choice, root)
      end
    end)
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

function M.lsp_config(root)
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

local function start_for(bufnr)
  local name = vim.api.nvim_buf_get_name(bufnr)
  if name == "" or vim.bo[bufnr].buftype ~= "" then
    return
  end
  local root = find_root(name)
  local cfg = M.lsp_config(root)
  cfg.root_dir = root
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
    local cfg = M.lsp_config(vim.fn.getcwd())
    cfg.before_init = function(params, config)
      params.initializationOptions = M.init_options(config.root_dir)
    end
    vim.lsp.config("rungo", cfg)
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
