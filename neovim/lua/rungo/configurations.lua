-- Run configurations: saved per workspace root in a JSON file (setup({ settings = { configurations = ... } })
-- adds its own), the settings sent to the server with them, and the :RungoConfig prompts.
local K = {}

local shell = require("rungo.shell")
local client = require("rungo.client")

local function rungo()
  return require("rungo")
end

local function root_of(path)
  local c = rungo().get_client(nil)
  return c and c.config.root_dir or client.find_root(path)
end

function K.configurations_file()
  local config = rungo().config
  if config.configurations_file then
    return config.configurations_file
  end
  local ok, state = pcall(vim.fn.stdpath, "state") -- Neovim 0.7 has no "state"
  return (ok and state or vim.fn.stdpath("data")) .. "/rungo/configurations.json"
end

local function read_saved()
  local f = io.open(rungo().configurations_file(), "r")
  if not f then
    return {}
  end
  local ok, data = pcall(vim.json.decode, f:read("*a"))
  f:close()
  return ok and type(data) == "table" and data or {}
end

local function write_saved(all)
  local file = rungo().configurations_file()
  vim.fn.mkdir(vim.fn.fnamemodify(file, ":h"), "p")
  local f = assert(io.open(file, "w"))
  f:write(vim.json.encode(all))
  f:close()
end

-- The settings sent to the server: setup's, with this root's saved configurations added.
function K.server_settings(root)
  local s = vim.deepcopy(rungo().config.settings or {})
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
  local c = client.any_client()
  if c then
    client.notify(c, "workspace/didChangeConfiguration", { settings = { rungo = rungo().server_settings(root) } })
  end
end

-- The key of the current buffer's target: its package directory relative to the root ("." for the root).
function K.target_key(bufnr)
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

function K.configurations(key, root)
  local out = {}
  for _, c in ipairs(rungo().server_settings(root).configurations or {}) do
    if c.package == key then
      table.insert(out, c)
    end
  end
  return out
end

-- Saves configuration c (replacing the one called old_name, or its own name) and makes it the last.
function K.save_configuration(c, root, old_name)
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

function K.remove_configuration(c, root)
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

-- Prompts ----------------------------------------------------------------------------------

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
function K.edit_configuration(c, done)
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
function K.config_command()
  local M = rungo()
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

return K
