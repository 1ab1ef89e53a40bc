-- wrk script: citizens asking the chat API (POST /api/chat, JSON answers).
-- Rotates through realistic questions; counts responses per HTTP status in every thread and
-- prints them as one JSON line ("STATUS {...}") when the run ends, so 5xx can be asserted.

local questions = {
  "Wie melde ich meinen Wohnsitz um?",
  "Was kostet ein Personalausweis?",
  "Wie beantrage ich einen Bewohnerparkausweis?",
  "Wann hat das Bürgerbüro geöffnet?",
  "Wie melde ich meinen Hund an?",
  "Perso abgelaufen, was tun?",
  "Wo bekomme ich eine Meldebescheinigung?",
  "How do I register my new address?",
}

local threads = {}

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
  n = 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["X-Allmende-Widget"] = "loadtest"
end

function request()
  n = n + 1
  local q = questions[(n + id) % #questions + 1]
  local body = '{"message": "' .. q .. '"}'
  return wrk.format("POST", "/api/chat", nil, body)
end

function response(status, headers, body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    local s = thread:get("statuses")
    for k, v in pairs(s) do
      total[k] = (total[k] or 0) + v
    end
  end
  local parts = {}
  for k, v in pairs(total) do
    table.insert(parts, string.format('"%s": %d', k, v))
  end
  io.write("STATUS {" .. table.concat(parts, ", ") .. "}\n")
  io.write(string.format(
    'LATENCY {"p50_ms": %.1f, "p90_ms": %.1f, "p99_ms": %.1f, "max_ms": %.1f}\n',
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
end
