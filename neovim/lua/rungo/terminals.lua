-- A terminal buffer per package, and the handlers of the server's run notifications
-- (rungo/runStarted, rungo/output, rungo/runExited) that fill it.
local T = {}

local uv = vim.loop or vim.uv
local client = require("rungo.client")

local function rungo()
  return require("rungo")
end

function T.term_window(buf)
  for _, win in ipairs(vim.api.nvim_list_wins()) do
    if vim.api.nvim_win_get_buf(win) == buf then
      return win
    end
  end
  return nil
end

local function open_terminal(pkg, name)
  local M = rungo()
  local old = M.terminals[pkg]
  local win = old and vim.api.nvim_buf_is_valid(old) and T.term_window(old) or nil
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

local function on_started(_, result)
  if not result or not result.runId then
    return
  end
  local M = rungo()
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
        client.send_command("rungo.stop", { runId = result.runId })
      else
        client.send_command("rungo.input", { runId = result.runId, data = data })
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
    client.send_command("rungo.resize", {
      runId = result.runId,
      cols = vim.api.nvim_win_get_width(win),
      rows = vim.api.nvim_win_get_height(win),
    })
  end
end

local function on_output(_, result)
  local run = result and rungo().runs[result.runId]
  if run and run.chan and type(result.data) == "string" then
    pcall(vim.api.nvim_chan_send, run.chan, result.data)
  end
end

function T.describe(result)
  if result.stage ~= "run" then
    return (result.stage or "build") .. " failed"
  end
  if result.signal and result.signal ~= vim.NIL then
    return string.format("%s · %d ms", result.signal, result.durationMs or 0)
  end
  return string.format("exit %s · %d ms", tostring(result.exitCode), result.durationMs or 0)
end

local function on_exited(_, result)
  local M = rungo()
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

T.handlers = {
  ["rungo/runStarted"] = on_started,
  ["rungo/output"] = on_output,
  ["rungo/runExited"] = on_exited,
}

-- Tells the server each running program's terminal size after Neovim or a window was resized.
function T.on_resize()
  for id, run in pairs(rungo().runs) do
    local win = T.term_window(run.buf)
    if win then
      client.send_command("rungo.resize", {
        runId = id,
        cols = vim.api.nvim_win_get_width(win),
        rows = vim.api.nvim_win_get_height(win),
      })
    end
  end
end

return T
