-- Command-line words as a POSIX shell splits them (quotes and backslashes; no expansions).
local M = {}

-- split('a "b c"') == { "a", "b c" }; nil and a message for an unterminated quote.
function M.split(text)
  local out, cur, in_word, quote = {}, {}, false, nil
  local i, n = 1, #text
  while i <= n do
    local c = text:sub(i, i)
    if quote then
      if c == quote then
        quote = nil
      elseif c == "\\" and quote == '"' and i < n and ('"\\$`'):find(text:sub(i + 1, i + 1), 1, true) then
        i = i + 1
        table.insert(cur, text:sub(i, i))
      else
        table.insert(cur, c)
      end
    elseif c == '"' or c == "'" then
      quote, in_word = c, true
    elseif c == "\\" and i < n then
      i = i + 1
      table.insert(cur, text:sub(i, i))
      in_word = true
    elseif c:match("%s") then
      if in_word then
        table.insert(out, table.concat(cur))
        cur, in_word = {}, false
      end
    else
      table.insert(cur, c)
      in_word = true
    end
    i = i + 1
  end
  if quote then
    return nil, "unterminated " .. quote .. " quote"
  end
  if in_word then
    table.insert(out, table.concat(cur))
  end
  return out
end

-- The words quoted so that split(join(words)) == words.
function M.join(words)
  local parts = {}
  for _, w in ipairs(words or {}) do
    if w:match("^[%w@%%+=:,./_-]+$") then
      table.insert(parts, w)
    else
      table.insert(parts, "'" .. w:gsub("'", "'\\''") .. "'")
    end
  end
  return table.concat(parts, " ")
end

-- `KEY=value` words into an environment table; nil and a message for a word without `=`.
function M.env(text)
  local words, err = M.split(text)
  if not words then
    return nil, err
  end
  local env = {}
  for _, w in ipairs(words) do
    local k, v = w:match("^([^=]+)=(.*)$")
    if not k then
      return nil, string.format("%q is not KEY=value", w)
    end
    env[k] = v
  end
  return env
end

return M
