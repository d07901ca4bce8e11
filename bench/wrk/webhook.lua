-- wrk script for the channel benchmark: every request is a new WhatsApp
-- message (a fresh key.id) from one of LEADS leads; each thread stops after
-- its share of TOTAL requests; done() prints the figures as one JSON line.
-- Environment: WEBHOOK_TOKEN, TOTAL (default 1000), LEADS (default 200), THREADS (default 2),
-- RUN (a number that differs between runs: LuaJIT's random numbers repeat from one
-- wrk start to the next, and a repeated key.id would be a cheap duplicate, not a message),
-- PHONE_PREFIX (default 5531900: the leads' numbers are this plus six digits).

local token = os.getenv("WEBHOOK_TOKEN") or ""
local total = tonumber(os.getenv("TOTAL") or "1000")
local leads = tonumber(os.getenv("LEADS") or "200")
local threads = tonumber(os.getenv("THREADS") or "2")
local run = tonumber(os.getenv("RUN") or "0")
local phone_prefix = os.getenv("PHONE_PREFIX") or "5531900"
local template = '{"event":"messages.upsert","instance":"solarprime","data":{"key":{"remoteJid":"%s@s.whatsapp.net",'
  .. '"fromMe":false,"id":"%s","participant":""},"pushName":"Maria","status":"DELIVERY_ACK",'
  .. '"message":{"conversation":"mensagem %d"},"messageType":"conversation","messageTimestamp":%d,'
  .. '"instanceId":"bench","source":"android"},"date_time":"2025-10-21T11:40:39.512Z",'
  .. '"sender":"5511900001111@s.whatsapp.net","server_url":"http://127.0.0.1","apikey":null}'

local next_thread = 0
function setup(thread)
  thread:set("thread_id", next_thread)
  next_thread = next_thread + 1
end

local sent, answered = 0, 0
function init(args)
  share = math.floor(total / threads)
  run_id = run % 1000000
end

function request()
  sent = sent + 1
  local n = thread_id * share + sent
  local phone = string.format("%s%06d", phone_prefix, n % leads)
  local id = string.format("3EB0%06d%02d%08d", run_id, thread_id, sent)
  local body = string.format(template, phone, id, n, os.time())
  return wrk.format("POST", "/webhooks/evolution/webhook",
    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}, body)
end

function response(status, headers, body)
  answered = answered + 1
  if answered >= share then
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    '{"requests": %d, "p50_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f, '
    .. '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, "seconds": %.3f}\n',
    summary.requests, latency:percentile(50), latency:percentile(99), latency.max, latency.mean,
    errors.connect, errors.read, errors.write, errors.status, errors.timeout, summary.duration / 1e6))
end
