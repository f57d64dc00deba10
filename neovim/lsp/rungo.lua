-- A vim.lsp.config() file for Neovim 0.11+: `vim.lsp.enable("rungo")` with this directory on
-- 'runtimepath'. The terminal buffers and commands come from require("rungo").setup().
local ok, rungo = pcall(require, "rungo")
return {
  cmd = ok and rungo.server_cmd() or { "python3", "-m", "rungo", "lsp" },
  filetypes = { "go" },
  root_markers = { "go.work", "go.mod", ".git" },
  init_options = { rungoOutput = true },
  handlers = ok and rungo.handlers or nil,
}
