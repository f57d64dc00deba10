if vim.g.loaded_rungo then
  return
end
vim.g.loaded_rungo = true

local function rungo()
  return require("rungo")
end

vim.api.nvim_create_user_command("RungoRun", function(cmd)
  rungo().run_command_line(cmd.args)
end, { nargs = "*", desc = "rungo: run the package of the current buffer (arguments with shell quoting)" })

vim.api.nvim_create_user_command("RungoConfig", function()
  rungo().config_command()
end, { desc = "rungo: choose, edit or add a run configuration of this package" })

vim.api.nvim_create_user_command("RungoRunLens", function()
  rungo().run_lens()
end, { desc = "rungo: run the ▶ Run lens nearest the cursor" })

vim.api.nvim_create_user_command("RungoWatch", function()
  rungo().watch()
end, { desc = "rungo: rerun the package of the current buffer on each save, in one terminal (:RungoStop ends it)" })

vim.api.nvim_create_user_command("RungoStop", function()
  rungo().stop()
end, { desc = "rungo: stop the running program" })

vim.api.nvim_create_user_command("RungoRerun", function()
  rungo().rerun()
end, { desc = "rungo: run the last program again" })
