-- reqresp.lua: Wireshark dissector for the reqresp-lab echo/vote line protocol (TCP port 2222).
--
-- Install: `make wireshark` (copies this file into the personal Lua plugins folder, see
-- `tshark -G folders`), or try it once: tshark -X lua_script:wireshark/reqresp.lua -r FILE.
--
-- The protocol (README "Protocol", lab/protocol.py): a message is one line ending in "\n"
-- ("\r\n" accepted); every message gets one reply line. The course's original client sends
-- its messages with no newline. Messages are cut exactly as the analyzer does
-- (analysis/session/exchanges.py), so this dissector's requests and responses are the
-- analyzer's exchanges:
--   * a line is a PDU. A line cut into several segments is desegmented: while the sender had
--     more to send (no PSH) TCP reassembles it (pinfo.desegment_len = DESEGMENT_ONE_MORE_SEGMENT);
--   * bytes without a newline at the end of a segment the sender pushed (PSH) are kept: they
--     become one message when the other side speaks next or the capture ends (the capture's
--     view of the server's 50 ms idle gap); when the same side sends more first, they are the
--     start of a longer message. Only hindsight tells which, so such a message, and every
--     request/response link, is complete once the whole capture has been read: in Wireshark
--     at once, with tshark on its second pass (tshark -2).
--   * requests and responses are paired first in, first out, per connection (tcp.stream);
--     a reply that comes before any request pairs with nothing.
-- Retransmitted bytes never reach this dissector: TCP drops them before it calls us.
--
-- Fields: reqresp.type (request/response), reqresp.text, reqresp.command, reqresp.option,
-- reqresp.vote_id, reqresp.count (with reqresp.count.option), reqresp.tally, reqresp.error,
-- reqresp.kind (echo/vote/results/error/other, as the analyzer's Exchange.kind),
-- reqresp.no_newline, reqresp.begins_in, reqresp.response_in, reqresp.request_in,
-- reqresp.latency (seconds from the request's first byte to the response's first byte).

local reqresp = Proto("reqresp", "reqresp-lab echo/vote protocol")

local F = {
  type = ProtoField.string("reqresp.type", "Type"),
  text = ProtoField.string("reqresp.text", "Text"),
  command = ProtoField.string("reqresp.command", "Command"),
  option = ProtoField.string("reqresp.option", "Option"),
  vote_id = ProtoField.string("reqresp.vote_id", "Vote id"),
  tally = ProtoField.string("reqresp.tally", "Tally"),
  count = ProtoField.uint32("reqresp.count", "Count"),
  count_option = ProtoField.string("reqresp.count.option", "Option counted"),
  error = ProtoField.string("reqresp.error", "Error"),
  kind = ProtoField.string("reqresp.kind", "Exchange kind"),
  no_newline = ProtoField.bool("reqresp.no_newline", "Sent without newline"),
  begins_in = ProtoField.framenum("reqresp.begins_in", "Message begins in frame"),
  response_in = ProtoField.framenum("reqresp.response_in", "Response in", base.NONE, frametype.RESPONSE),
  request_in = ProtoField.framenum("reqresp.request_in", "Request in", base.NONE, frametype.REQUEST),
  latency = ProtoField.relative_time("reqresp.latency", "Time since request"),
}
reqresp.fields = { F.type, F.text, F.command, F.option, F.vote_id, F.tally, F.count,
                   F.count_option, F.error, F.kind, F.no_newline, F.begins_in, F.response_in,
                   F.request_in, F.latency }

local E = {
  no_newline = ProtoExpert.new("reqresp.no_newline.expert", "Message without newline: one message "
    .. "because the other side answered (or the capture ended), as the course's original client sends",
    expert.group.SEQUENCE, expert.severity.NOTE),
  unanswered = ProtoExpert.new("reqresp.unanswered", "Request without a response in this capture",
    expert.group.SEQUENCE, expert.severity.WARN),
}
reqresp.experts = { E.no_newline, E.unanswered }

local f_stream = Field.new("tcp.stream")
local f_push = Field.new("tcp.flags.push")
local f_time = Field.new("frame.time_epoch")   -- an NSTime: exact, unlike pinfo.abs_ts (a double)

local MAX_MESSAGE = 64 * 1024       -- analysis/session/exchanges.py MAX_MESSAGE

-- State built on the first pass (pinfo.visited false), read on every later one.
-- conns: tcp.stream -> {pending = per direction the bytes pushed without newline, held = per
-- direction where the bytes TCP reassembles for us began, last = who sent last, waiting =
-- requests not yet answered}
local conns
local frame_pdus       -- frame number -> list of messages that end (are shown) in that frame
local finished         -- the end-of-capture flush has run

function reqresp.init()
  conns, frame_pdus, finished = {}, {}, false
end

local function exchange_kind(request, response)
  local head = request:match("^%s*(.-)%s*$"):upper()
  if response ~= nil and response:sub(1, 5) == "ERROR" then return "error" end
  if head:sub(1, 5) == "VOTE " or head == "VOTE" then return "vote" end
  if head == "RESULTS" then return "results" end
  if response ~= nil and response:sub(1, 6) == "Echo: " then return "echo" end
  return "other"
end

-- One whole message of direction `dir` (0 client->server, 1 server->client).
local function complete(conn, dir, msg)
  local list = frame_pdus[msg.last_frame]
  if not list then list = {}; frame_pdus[msg.last_frame] = list end
  list[#list + 1] = msg
  if dir == 0 then
    conn.waiting[#conn.waiting + 1] = msg
  elseif #conn.waiting > 0 then
    local request = table.remove(conn.waiting, 1)
    request.response, msg.request = msg, request
  end
end

local function flush(conn, dir)
  local p = conn.pending[dir]
  if p then
    conn.pending[dir] = nil
    p.no_newline = true
    complete(conn, dir, p)
  end
end

local function message(bytes, first_frame, first_time, last_frame, tvb_range)
  return { bytes = bytes, first_frame = first_frame, first_time = first_time,
           last_frame = last_frame, range = tvb_range }
end

-- The first pass over one call's bytes: lines, and the tail the sender pushed without newline.
-- Returns the offset where TCP should keep bytes for the next segment (nil: nothing kept).
local function first_pass(tvb, pinfo, conn, dir)
  if conn.last ~= nil and conn.last ~= dir then flush(conn, conn.last) end
  conn.last = dir
  local raw = tvb:raw()
  local frame, now = pinfo.number, f_time()()
  -- TCP reassembled what we asked it to keep: its first byte came in an earlier frame
  local held = conn.held[dir]
  conn.held[dir] = nil
  local pos = 1
  while true do
    local cut = raw:find("\n", pos, true)
    if not cut then break end
    local p = conn.pending[dir]
    conn.pending[dir] = nil
    local line = raw:sub(pos, cut - 1)
    local msg
    if p then
      msg = message(p.bytes .. line, p.first_frame, p.first_time, frame, nil)
    else
      msg = message(line, frame, now, frame, { pos - 1, cut - pos + 1 })
      if held then msg.first_frame, msg.first_time = held.frame, held.time end
    end
    held = nil
    msg.bytes = msg.bytes:gsub("\r$", "")
    complete(conn, dir, msg)
    pos = cut + 1
  end
  if pos > #raw then return nil end
  local push = f_push()
  local p = conn.pending[dir]
  if not p and not (push and push()) then
    -- the sender had more: let TCP reassemble the rest of the line
    conn.held[dir] = held or { frame = frame, time = now }
    return pos - 1
  end
  if p then
    p.bytes, p.last_frame, p.range = p.bytes .. raw:sub(pos), frame, nil
  else
    p = message(raw:sub(pos), frame, now, frame, { pos - 1, #raw - pos + 1 })
    if held then p.first_frame, p.first_time = held.frame, held.time end
    conn.pending[dir] = p
  end
  if #conn.pending[dir].bytes > MAX_MESSAGE then flush(conn, dir) end
  return nil
end

local function finish()
  -- what still waits without newline at the end of the capture is one message (the analyzer's
  -- finish()); links to it are then known too
  if finished then return end
  finished = true
  local ids = {}
  for id in pairs(conns) do ids[#ids + 1] = id end
  table.sort(ids)
  for _, id in ipairs(ids) do
    flush(conns[id], 0)
    flush(conns[id], 1)
  end
end

local ZERO = NSTime.new(0, 0)

local function since(later, earlier)
  local d = later - earlier
  if d < ZERO then return ZERO end
  return d
end

local function add_pdu(tree, tvb, pinfo, msg, dir)
  local range
  if msg.range then
    range = tvb:range(msg.range[1], msg.range[2])
  else   -- a message spread over several frames: its whole text as a new data source
    range = ByteArray.new(msg.bytes, true):tvb("reqresp message"):range()
  end
  local text = msg.bytes
  local sub = tree:add(reqresp, range, dir == 0 and "Request: " .. text or "Response: " .. text)
  sub:add(F.type, range, dir == 0 and "request" or "response")
  sub:add(F.text, range, text)
  if msg.first_frame ~= pinfo.number then sub:add(F.begins_in, msg.first_frame) end
  if msg.no_newline then
    sub:add(F.no_newline, true)
    sub:add_proto_expert_info(E.no_newline)
  end
  local words = {}
  for w in text:gmatch("%S+") do words[#words + 1] = w end
  if dir == 0 then
    local command = (words[1] or ""):upper()
    if command == "VOTE" or (command == "RESULTS" and #words == 1) then
      sub:add(F.command, range, command)
    else
      sub:add(F.command, range, "ECHO")
    end
    if command == "VOTE" and words[2] then sub:add(F.option, range, words[2]) end
    if command == "VOTE" and words[3] then
      local token = words[3]:match("^[iI][dD]=(.*)$")
      if token then sub:add(F.vote_id, range, token) end
    end
    if msg.response then
      sub:add(F.response_in, msg.response.first_frame):set_generated()
      sub:add(F.kind, exchange_kind(text, msg.response.bytes)):set_generated()
    elseif finished then
      sub:add(F.kind, exchange_kind(text, nil)):set_generated()
      sub:add_proto_expert_info(E.unanswered)
    end
  else
    local command = text:match("^(Echo):") or words[1] or ""
    sub:add(F.command, range, command)
    if command == "VOTED" and words[2] then sub:add(F.option, range, words[2]) end
    if command == "VOTED" or command == "RESULTS" then
      local tally = text:match("^%S+%s+[^=%s]*%s*(.*)$")
      if command == "RESULTS" then tally = text:match("^RESULTS%s*(.*)$") end
      sub:add(F.tally, range, tally or "")
      for name, n in text:gmatch("([%w_]+)=(%d+)") do
        local item = sub:add(F.count, range, tonumber(n))
        item:append_text(" (" .. name .. ")")
        sub:add(F.count_option, range, name)
      end
    elseif command == "ERROR" then
      sub:add(F.error, range, text:sub(7))
    end
    if msg.request then
      sub:add(F.request_in, msg.request.first_frame):set_generated()
      sub:add(F.latency, since(msg.first_time, msg.request.first_time)):set_generated()
      sub:add(F.kind, exchange_kind(msg.request.bytes, text)):set_generated()
    end
  end
end

function reqresp.dissector(tvb, pinfo, tree)
  local len = tvb:len()
  if len == 0 then return 0 end
  local dir = (pinfo.dst_port == pinfo.match_uint) and 0 or 1
  if not pinfo.visited then
    local stream = f_stream()()
    local conn = conns[stream]
    if not conn then
      conn = { pending = {}, held = {}, last = nil, waiting = {} }
      conns[stream] = conn
    end
    local keep = first_pass(tvb, pinfo, conn, dir)
    if keep then
      pinfo.desegment_offset = keep
      pinfo.desegment_len = DESEGMENT_ONE_MORE_SEGMENT
    end
  else
    finish()
  end
  pinfo.cols.protocol = "REQRESP"
  local pdus = frame_pdus[pinfo.number] or {}
  local shown = {}
  for _, msg in ipairs(pdus) do
    -- a frame's messages, in the order they ended; `dir` tells this frame's side
    add_pdu(tree, tvb, pinfo, msg, dir)
    shown[#shown + 1] = msg.bytes
  end
  if #shown > 0 then
    pinfo.cols.info = (dir == 0 and "Request: " or "Response: ") .. table.concat(shown, " | ")
  else
    pinfo.cols.info = (dir == 0 and "Request" or "Response") .. " (part of a message)"
  end
  return len
end

DissectorTable.get("tcp.port"):add(2222, reqresp)
