-- What the user asks for: run (with arguments, a configuration, or the ▶ Run lens), watch, rerun,
-- stop, and refreshing the code lenses. Each goes to the server as a workspace/executeCommand.
local X = {}

local shell = require("rungo.shell")
local client = require("rungo.client")

local function rungo()
  return require("rungo")
end

-- Code lenses: only ask an initialized server (Neovim 0.7 stops refreshing a buffer for good
-- after a refresh that no server could answer).
function X.refresh_lenses(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  local c = rungo().get_client(bufnr)
  if not c or c.initialized == false or c.is_stopped and c.is_stopped() then
    return
  end
  if client.has("0.10") then
    pcall(vim.lsp.codelens.refresh, { bufnr = bufnr })
  elseif bufnr == vim.api.nvim_get_current_buf() then
    pcall(vim.lsp.codelens.refresh)
  end
end

function X.run(opts)
  opts = opts or {}
  local uri = opts.uri or vim.uri_from_bufnr(0)
  local arg = { uri = uri, files = opts.files, args = opts.args, configuration = opts.configuration }
  rungo().last = arg
  client.send_command("rungo.run", arg)
end

-- `:RungoWatch`: rerun-on-save for the package of the current buffer, in one terminal, until `:RungoStop`.
function X.watch(opts)
  opts = opts or {}
  local arg = { uri = opts.uri or vim.uri_from_bufnr(0), files = opts.files, watch = true }
  client.send_command("rungo.run", arg)
end

-- `:RungoRun a "b c"`: the words of a command line, as a shell splits them.
function X.run_command_line(text)
  local args, err = shell.split(text or "")
  if not args then
    vim.notify("rungo: " .. err, vim.log.levels.ERROR)
    return
  end
  rungo().run({ args = (#args > 0) and args or nil })
end

function X.run_with_arguments(arg)
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
    rungo().run({ uri = arg.uri, files = arg.files, args = args })
  end)
end

function X.rerun()
  local M = rungo()
  if not M.last then
    vim.notify("rungo: nothing has run yet", vim.log.levels.INFO)
    return
  end
  client.send_command("rungo.run", M.last)
end

function X.stop()
  local id = vim.b.rungo_run_id
  if id and not rungo().runs[id] then
    id = nil
  end
  client.send_command("rungo.stop", id and { runId = id } or {})
end

-- The lens on (or nearest above) the cursor line whose title starts with "▶ Run".
function X.run_lens(bufnr)
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
  rungo().last = arg
  client.send_command(best.command.command, arg)
end

return X
