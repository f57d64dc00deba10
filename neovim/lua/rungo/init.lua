-- rungo for Neovim: starts `rungo lsp` for Go buffers, refreshes the Run lens,
-- and shows each run in a terminal buffer per package.
--
-- This file holds the configuration, the plugin's state and setup(); the work lives in
--   rungo.client          the server's command, root, client and starting it
--   rungo.terminals       a terminal buffer per package and the run notifications' handlers
--   rungo.commands        run, watch, rerun, stop, the ▶ Run lens, lens refresh
--   rungo.configurations  saved run configurations, their file and prompts
-- and every public function is reachable from here, as require("rungo").<name>.
local M = {}

local client = require("rungo.client")
local terminals = require("rungo.terminals")
local commands = require("rungo.commands")
local configurations = require("rungo.configurations")

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

-- The server and its client.
M.server_cmd = client.server_cmd
M.gopls_serves = client.gopls_serves
M.init_options = client.init_options
M.get_client = client.get_client
M.lsp_config = client.lsp_config

-- Runs in terminals.
M.describe = terminals.describe
M.handlers = terminals.handlers

-- Commands and lenses.
M.refresh_lenses = commands.refresh_lenses
M.run = commands.run
M.watch = commands.watch
M.run_command_line = commands.run_command_line
M.run_with_arguments = commands.run_with_arguments
M.rerun = commands.rerun
M.stop = commands.stop
M.run_lens = commands.run_lens

-- Run configurations.
M.configurations_file = configurations.configurations_file
M.server_settings = configurations.server_settings
M.target_key = configurations.target_key
M.configurations = configurations.configurations
M.save_configuration = configurations.save_configuration
M.remove_configuration = configurations.remove_configuration
M.edit_configuration = configurations.edit_configuration
M.config_command = configurations.config_command

function M.setup(opts)
  M.config = vim.tbl_deep_extend("force", M.config, opts or {})
  vim.lsp.commands["rungo.runWithArguments"] = function(command)
    M.run_with_arguments(command.arguments and command.arguments[1])
  end
  local group = vim.api.nvim_create_augroup("rungo", { clear = true })
  if client.has("0.11") and vim.lsp.config and vim.lsp.enable and not M.config.legacy_start then
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
        client.start_for(ev.buf)
      end,
    })
    for _, b in ipairs(vim.api.nvim_list_bufs()) do
      if vim.api.nvim_buf_is_loaded(b) and vim.bo[b].filetype == "go" then
        client.start_for(b)
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
  vim.api.nvim_create_autocmd("VimResized", { group = group, callback = terminals.on_resize })
  if vim.fn.exists("##WinResized") == 1 then
    vim.api.nvim_create_autocmd("WinResized", { group = group, callback = terminals.on_resize })
  end
end

return M
