# SPDX-License-Identifier: MIT
#
# tests/tools/status_schema.jq: checks a GET /api/status document against
# the schema in docs/status-api.md. Prints a JSON array of problems ([] when
# the document is valid):  jq -f tests/tools/status_schema.jq < status.json
# Every documented field must be present with its type ("T|null" allows
# null); no undocumented field may appear; times are ISO 8601 UTC.

def is_time: type == "string" and test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?Z$");

# $want: "string", "number", "integer", "boolean", "time", "array" or
# "object", alternatives joined with "|" ("time|null").
def check_type($v; $want):
  any(($want | split("|"))[];
    if . == "null" then $v == null
    elif . == "time" then ($v | is_time)
    elif . == "integer" then ($v | type) == "number" and $v == ($v | floor)
    elif . == "number" then ($v | type) == "number"
    else ($v | type) == . end);

# fields: object of name -> type; path: where we are, for messages.
def check_object($fields; $path):
  if type != "object" then ["\($path): not an object"]
  else
    . as $o
    | [($fields | keys[]) as $k
        | if ($o | has($k) | not) then "\($path).\($k): missing"
          elif check_type($o[$k]; $fields[$k]) | not
          then "\($path).\($k): \($o[$k] | tojson) is not \($fields[$k])"
          else empty end]
      + [($o | keys[]) as $k
        | select($fields | has($k) | not)
        | "\($path).\($k): not in the schema"]
  end;

def check_array($fields; $path):
  if type != "array" then ["\($path): not an array"]
  else [to_entries[] | .key as $i | .value
      | check_object($fields; "\($path)[\($i)]")[]]
  end;

check_object({
  station: "object", on_air: "boolean", on_air_rule: "string",
  state: "string",
  uptime_s: "integer", now: "object", next: "array", input: "object",
  processing: "object", encodings: "array", outputs: "array",
  listeners: "integer", edges: "array",
  requests: "array", reload: "object|null", programme_error: "object|null",
  fallback: "object", time: "time", version: "string"
}; "")
+ (if (.state | type) == "string"
     and ([.state] | inside(["live", "segment", "fallback", "off_air"]) | not)
   then [".state: \(.state) is not live|segment|fallback|off_air"]
   else [] end)
+ (if .on_air == false and .state != "off_air"
   then [".state: \(.state) while off air"] else [] end)
+ (.station | check_object({name: "string", description: "string",
    url: "string"}; ".station"))
+ (.now | check_object({title: "string", artist: "string",
    source: "string", segment: "string|null", started_at: "time|null",
    ends_at: "time|null", title_pending: "object|null"}; ".now"))
+ (if (.now.title_pending | type) == "object"
   then (.now.title_pending | check_object({title: "string",
     artist: "string", due_in_s: "number|null"}; ".now.title_pending"))
   else [] end)
+ (.next | check_array({segment: "string", title: "string",
    starts_at: "time|null"}; ".next"))
+ (.input | check_object({type: "string", flowing: "boolean",
    peak_dbfs: "number", rms_dbfs: "number", silent_s: "number",
    silence_threshold_dbfs: "number", xruns: "integer",
    overflow_frames: "integer", buffer_s: "number",
    buffer_peak_s: "number", buffer_peak_at: "time|null"}; ".input"))
+ (.processing | check_object({enabled: "boolean", target_lufs: "number|null",
    momentary_lufs: "number|null", short_term_lufs: "number|null",
    integrated_lufs: "number|null", true_peak_dbtp: "number|null",
    gain_db: "number|null", limiter_db: "number|null", frozen: "boolean"};
    ".processing"))
+ (.encodings | check_array({name: "string", codec: "string", rate: "integer",
    channels: "integer", quality: "number|null", bitrate: "integer|null"};
    ".encodings"))
+ (.outputs | check_array({name: "string", type: "string",
    encoding: "string", url: "string|null", connected: "boolean",
    since: "time|null", bytes_sent: "integer", queue_bytes: "integer",
    lag_ms: "integer|null",
    dropped_bytes: "integer", reconnects: "integer",
    last_error: "string|null", last_error_at: "time|null",
    server_reachable: "boolean",
    mount_listed: "boolean", listeners: "integer|null",
    listener_peak: "integer|null", listenback: "object|null",
    edge_listeners: "integer|null", cors_allow_origin: "string|null",
    tls: "boolean", tls_certificate: "object|null",
    archive: "object|null"}; ".outputs"))
+ (.edges | check_array({url: "string", mount: "string",
    reachable: "boolean", mount_listed: "boolean",
    listeners: "integer|null"}; ".edges"))
+ (if (.on_air_rule | type) == "string"
     and ([.on_air_rule] | inside(["listenback", "server"]) | not)
   then [".on_air_rule: \(.on_air_rule) is not listenback|server"]
   else [] end)
+ [.outputs[]? | select(.listenback | type == "object") | .name as $n
    | .listenback | check_object({state: "string", flagged: "boolean",
      since: "time", url: "string", audio: "boolean", ours: "boolean",
      decoded: "boolean", peak_dbfs: "number|null",
      rms_dbfs: "number|null", silent_s: "number|null",
      lag_ms: "integer|null", last_audio: "time|null", bytes: "integer",
      connects: "integer", last_error: "string|null"};
      ".outputs[\($n)].listenback")[]]
+ [.outputs[]? | select(.listenback | type == "object") | .name as $n
    | select([.listenback.state]
        | inside(["connecting", "ok", "no_audio", "foreign", "silent"]) | not)
    | ".outputs[\($n)].listenback.state: \(.listenback.state) is not a state"]
+ [.outputs[]? | select(.listenback | type == "object")
    | select(.listenback.url | test("@"))
    | ".outputs[\(.name)].listenback.url: has credentials"]
+ [.outputs[]? | select(.tls_certificate != null)
    | .name as $n | .tls_certificate
    | check_object({subject: "string", issuer: "string", not_after: "time",
        expires_in_s: "integer", expires_soon: "boolean"};
        ".outputs[\($n)].tls_certificate")[]]
+ [.outputs[]? | select(.archive != null) | .archive
    | check_object({file: "string|null", file_bytes: "integer",
        files_written: "integer", files_removed: "integer",
        errors: "integer", rotate_s: "integer|null",
        keep_s: "integer|null"}; ".outputs[].archive")[]]
+ [.outputs[]? | select((.type == "file") != (.archive != null))
    | ".outputs[\(.name)].archive: must be an object exactly for file outputs"]
+ [.outputs[]? | select(.url != null and (.url | test("@")))
    | ".outputs[\(.name)].url: has credentials"]
+ (.requests | check_array({id: "integer", state: "string", name: "string",
    title: "string", source: "string", starts_at: "time|null",
    ends_at: "time|null", updated_at: "time|null",
    reason: "string|null"}; ".requests"))
+ [.requests[]? | select(.state | type == "string")
    | select([.state] | inside(["pending", "on_air", "done", "failed"]) | not)
    | ".requests[\(.id)].state: \(.state) is not pending|on_air|done|failed"]
+ [.requests[]? | select(.state == "failed" and .reason == null)
    | ".requests[\(.id)].reason: null for a failed request"]
+ (if (.requests | type) == "array" and (.requests | length) > 16
   then [".requests: more than 16"] else [] end)
+ (if .reload == null then []
   else .reload | check_object({at: "time", ok: "boolean",
     detail: "string"}; ".reload") end)
+ (.fallback | check_object({enabled: "boolean", active: "boolean",
    since: "time|null", why: "string|null", source: "string|null",
    activations: "integer", dead_air_s: "number", after_s: "number"};
    ".fallback"))
+ (if .fallback.active == true and .state != "fallback" and .state != "off_air"
   then [".state: \(.state) while fallback.active"] else [] end)
+ (if .programme_error == null then []
   else .programme_error | check_object({at: "time",
     segment: "string|null", text: "string"}; ".programme_error") end)
