-- Headless end-to-end flow of the rungo Neovim plugin against the real `rungo lsp`.
-- Env: RUNGO_PLUGIN (the plugin dir), RUNGO_PYTHON, RUNGO_TEST_ROOT (a Go module), RUNGO_RESULT (file).
local plugin = os.getenv("RUNGO_PLUGIN")
local root = os.getenv("RUNGO_TEST_ROOT")
local result_file = os.getenv("RUNGO_RESULT")
vim.opt.runtimepath:prepend(plugin)
vim.cmd("runtime plugin/rungo.lua")
vim.cmd("filetype on")

local results = {}
local notes = {}
local function record(name, ok, detail)
  table.insert(results, { name = name, ok = ok and true or false, detail = detail or "" })
end
local function finish()
  local f = io.open(result_file, "w")
  f:write(vim.fn.json_encode({ results = results, notes = notes, version = tostring(vim.version()) }))
  f:close()
  vim.cmd("qall!")
end

vim.notify = function(msg, level)
  table.insert(notes, msg)
end

local rungo = require("rungo")
rungo.setup({
  python = os.getenv("RUNGO_PYTHON"),
  settings = { diagnostics = { delayMs = 50 } },
  split = "botright 20split",
})

local function wait(ms, pred)
  return vim.wait(ms, pred, 20)
end

local function term_text(buf)
  if not buf or not vim.api.nvim_buf_is_valid(buf) then
    return ""
  end
  return table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), "\n")
end

-- The terminal's text with its wrapped lines joined (a long line wraps at the window's width).
local function flat_text(buf)
  return (term_text(buf):gsub("\n", ""))
end

local function latest_run_buf(name)
  for pkg, buf in pairs(rungo.terminals) do
    if vim.fn.fnamemodify(pkg, ":t") == name then
      return buf
    end
  end
  return nil
end

local function has_diag(buf, text)
  for _, d in ipairs(vim.diagnostic.get(buf)) do
    if d.message:find(text, 1, true) then
      return true
    end
  end
  return false
end

local stop_phase
local watch_phase

local function step(fn)
  local ok, nxt = pcall(fn)
  if not ok then
    record("script error", false, tostring(nxt))
    finish()
  elseif type(nxt) == "function" then
    vim.defer_fn(function() step(nxt) end, 300)
  else
    finish()
  end
end

local function main_phase()
  vim.cmd("edit " .. root .. "/hello/main.go")
  local buf = vim.api.nvim_get_current_buf()
  record("client attached", wait(60000, function()
    local c = rungo.get_client(buf)
    return c ~= nil and c.initialized ~= false
  end))

  -- diagnostics appear and clear
  local original = vim.api.nvim_buf_get_lines(buf, 0, -1, false)
  vim.api.nvim_buf_set_lines(buf, 5, 6, false, { "\tfmt.Println(undefinedThing)" })
  record("type error appears", wait(60000, function() return has_diag(buf, "undefined: undefinedThing") end),
    vim.inspect(vim.diagnostic.get(buf)))
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, original)
  record("type error clears", wait(60000, function() return #vim.diagnostic.get(buf) == 0 end),
    vim.inspect(vim.diagnostic.get(buf)))

  -- the lens above func main
  local function run_lens()
    for _, lens in ipairs(vim.lsp.codelens.get(buf) or {}) do
      if lens.command and lens.command.title == "▶ Run" then
        return lens
      end
    end
  end
  wait(30000, function()
    rungo.refresh_lenses(buf)
    return wait(300, function() return run_lens() ~= nil end)
  end)
  local lens = run_lens()
  record("run lens above func main", lens ~= nil and lens.range.start.line == 4, vim.inspect(lens))

  -- running it: output and exit status in the terminal buffer
  vim.api.nvim_win_set_cursor(0, { 5, 0 })
  rungo.run_lens(buf)
  record("run finished", wait(120000, function()
    local b = latest_run_buf("hello")
    return b and term_text(b):find("%[exit 3 · %d+ ms%]") ~= nil
  end), term_text(latest_run_buf("hello")))
  local text = term_text(latest_run_buf("hello"))
  record("program output in terminal", text:find("hello from rungo", 1, true) ~= nil, text)
  record("exit status notified", vim.tbl_contains(vim.tbl_map(function(n) return n:match("exit 3") ~= nil end, notes), true),
    vim.inspect(notes))

  -- input typed into the terminal reaches the program
  vim.cmd("edit " .. root .. "/echo/main.go")
  vim.cmd("RungoRun")
  record("echo started", wait(120000, function()
    return term_text(latest_run_buf("echo")):find("ready", 1, true) ~= nil
  end), term_text(latest_run_buf("echo")))
  local ebuf = latest_run_buf("echo")
  for _, win in ipairs(vim.api.nvim_list_wins()) do
    if vim.api.nvim_win_get_buf(win) == ebuf then
      vim.api.nvim_set_current_win(win)
    end
  end
  -- Typed keys are handled by the main loop: queue them and continue from a timer.
  vim.api.nvim_feedkeys("iping\r", "t", false)
  return function()
    record("input reaches the program", wait(30000, function()
      return term_text(ebuf):find("echo: ping", 1, true) ~= nil
    end), term_text(ebuf) .. "\nmode=" .. vim.api.nvim_get_mode().mode
      .. " curbuf=" .. vim.api.nvim_get_current_buf() .. " ebuf=" .. tostring(ebuf) .. " wins=" .. vim.inspect(vim.tbl_map(function(w) return vim.api.nvim_win_get_buf(w) end, vim.api.nvim_list_wins())))
    vim.cmd("stopinsert")
    return function()
      vim.cmd("wincmd p")
      return stop_phase()
    end
  end
end

stop_phase = function()
  -- :RungoStop ends a long-running program
  vim.cmd("edit " .. root .. "/forever/main.go")
  vim.cmd("RungoRun")
  record("long program running", wait(120000, function()
    return term_text(latest_run_buf("forever")):find("running", 1, true) ~= nil
  end), term_text(latest_run_buf("forever")))
  local t0 = vim.loop.hrtime()
  vim.cmd("RungoStop")
  local stopped = wait(10000, function()
    return term_text(latest_run_buf("forever")):find("%[SIGINT") ~= nil
  end)
  record("RungoStop ends it", stopped and (vim.loop.hrtime() - t0) < 2e9, term_text(latest_run_buf("forever")))

  -- :RungoRerun runs the last program again
  vim.cmd("RungoRerun")
  record("RungoRerun", wait(120000, function()
    local b = latest_run_buf("forever")
    return b and term_text(b):find("running", 1, true) ~= nil and rungo.runs ~= nil and next(rungo.runs) ~= nil
  end), term_text(latest_run_buf("forever")))
  vim.cmd("RungoStop")
  wait(10000, function() return next(rungo.runs) == nil end)

  -- :RungoRun splits its arguments as a shell does
  vim.cmd("edit " .. root .. "/args/main.go")
  local abuf = vim.api.nvim_get_current_buf()
  vim.cmd([[RungoRun a "b c" 'd e']])
  record("quoted arguments", wait(120000, function()
    return flat_text(latest_run_buf("args")):find('args=["a" "b c" "d e"]', 1, true) ~= nil
  end), term_text(latest_run_buf("args")))

  -- :RungoConfig adds a configuration (answers given through vim.ui), saves it and runs it
  local answers = { "dev", 'x "y z"', "GREETING=hi", "../data", "" }
  local ui_select, ui_input = vim.ui.select, vim.ui.input
  vim.ui.select = function(items, _, on_choice)
    on_choice(items[#items], #items) -- "Add configuration…"
  end
  vim.ui.input = function(_, on_confirm)
    on_confirm(table.remove(answers, 1))
  end
  vim.cmd("RungoConfig")
  vim.ui.select, vim.ui.input = ui_select, ui_input
  local want = 'args=["x" "y z"] greeting=hi wd=' .. root .. "/data"
  record("saved configuration runs", wait(120000, function()
    return flat_text(latest_run_buf("args")):find(want, 1, true) ~= nil
  end), term_text(latest_run_buf("args")))
  local f = io.open(rungo.configurations_file(), "r")
  local saved = f and vim.json.decode(f:read("*a")) or {}
  if f then f:close() end
  local mine = saved[root] or {}
  record("configuration saved", mine.configurations and mine.configurations[1].name == "dev"
    and mine.configurations[1].cwd == "../data" and mine.lastConfiguration.args == "dev", vim.inspect(saved))

  -- the lens offers the last configuration, and runs it
  local function dev_lens()
    for _, lens in ipairs(vim.lsp.codelens.get(abuf) or {}) do
      if lens.command and lens.command.title == "▶ Run (dev)" then
        return lens
      end
    end
  end
  wait(30000, function()
    rungo.refresh_lenses(abuf)
    return wait(300, function() return dev_lens() ~= nil end)
  end)
  local lens = dev_lens()
  record("lens offers the last configuration", lens ~= nil, vim.inspect(vim.lsp.codelens.get(abuf)))
  if lens then
    local before = latest_run_buf("args")
    local client = rungo.get_client(abuf)
    local params = { command = lens.command.command, arguments = lens.command.arguments }
    if vim.fn.has("nvim-0.11") == 1 then
      client:request("workspace/executeCommand", params, function() end, abuf)
    else
      client.request("workspace/executeCommand", params, function() end, abuf)
    end
    record("the lens runs the configuration", wait(120000, function()
      local b = latest_run_buf("args")
      return b ~= before and flat_text(b):find(want, 1, true) ~= nil
    end), term_text(latest_run_buf("args")))
  end

  -- :checkhealth rungo
  vim.cmd("checkhealth rungo")
  local health = table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), "\n")
  record("checkhealth", health:find("rungo 0.", 1, true) ~= nil and health:find("GOVERSION", 1, true) ~= nil
    and health:find("server running", 1, true) ~= nil, health)
  return watch_phase
end

watch_phase = function()
  -- the Watch lens: rerun on save in the same terminal, the lens shows it, :RungoStop ends it
  vim.cmd("edit " .. root .. "/watched/main.go")
  local buf = vim.api.nvim_get_current_buf()
  local function lens_titled(title)
    for _, lens in ipairs(vim.lsp.codelens.get(buf) or {}) do
      if lens.command and lens.command.title == title then
        return lens
      end
    end
  end
  local function shows(title)
    return wait(30000, function()
      rungo.refresh_lenses(buf)
      return wait(300, function() return lens_titled(title) ~= nil end)
    end)
  end
  record("watch lens beside run", shows("Watch") and lens_titled("▶ Run") ~= nil, vim.inspect(vim.lsp.codelens.get(buf)))
  local select = vim.ui.select
  vim.ui.select = function(items, opts, on_choice)
    for i, item in ipairs(items) do
      if (opts.format_item and opts.format_item(item) or item.command.title) == "Watch" then
        return on_choice(item, i)
      end
    end
    on_choice(nil, nil)
  end
  vim.api.nvim_win_set_cursor(0, { lens_titled("Watch").range.start.line + 1, 0 })
  vim.lsp.codelens.run()
  vim.ui.select = select
  record("watch started", wait(120000, function()
    return term_text(latest_run_buf("watched")):find("tick v1", 1, true) ~= nil
  end), term_text(latest_run_buf("watched")))
  local tbuf = latest_run_buf("watched")
  record("lens shows the watch", shows("● Watching (stop)"), vim.inspect(vim.lsp.codelens.get(buf)))
  vim.api.nvim_set_current_buf(buf)
  local function retag(tag)
    local lines = vim.api.nvim_buf_get_lines(buf, 0, -1, false)
    for i, l in ipairs(lines) do
      lines[i] = l:gsub("tick v%d", "tick " .. tag)
    end
    vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  end
  retag("v2")
  vim.cmd("write")
  record("a save restarts it in the same terminal", wait(60000, function()
    local text = term_text(tbuf)
    return latest_run_buf("watched") == tbuf and text:find("tick v2", 1, true) ~= nil
      and text:find("restarted after save", 1, true) ~= nil
  end), term_text(latest_run_buf("watched")))
  retag("v3")
  vim.wait(1500)
  record("an unsaved edit restarts nothing", term_text(tbuf):find("tick v3", 1, true) == nil, term_text(tbuf))
  retag("v2")
  vim.cmd("RungoStop")
  record("RungoStop ends the watch", wait(10000, function()
    return term_text(tbuf):find("%[SIGINT") ~= nil
  end), term_text(tbuf))
  record("lens offers Watch again", shows("Watch"), vim.inspect(vim.lsp.codelens.get(buf)))
end

-- Start once Neovim has finished starting up (it arranges windows after sourcing -u).
vim.api.nvim_create_autocmd("VimEnter", {
  once = true,
  callback = function()
    vim.defer_fn(function() step(main_phase) end, 10)
  end,
})
