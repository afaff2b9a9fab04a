# docs/man/keys.awk: turns `relay --dump-config` (every key of the key
# table, with its help, type, range and default) into the KEYS section of
# relay.conf(5), so the man page lists exactly the keys relay accepts.
# Breaks text into lines of at most 78 bytes at spaces.
function wrap(s,    out, n, i, w, line) {
	n = split(s, w, " ")
	line = ""
	out = ""
	for (i = 1; i <= n; i++) {
		if (line != "" && length(line) + 1 + length(w[i]) > 78) {
			out = out line "\n"
			line = w[i]
		} else {
			line = line == "" ? w[i] : line " " w[i]
		}
	}
	return out line
}
function esc(s) {
	gsub(/\\/, "\\e", s)
	gsub(/-/, "\\-", s)
	if (s ~ /^[.']/)
		s = "\\&" s
	return s
}
/^\[/ {
	sec = $0
	printf ".SS %s\n", esc(sec)
	next
}
/^; type / {
	type = substr($0, 8)
	next
}
/^; / {
	help = (help == "" ? "" : help " ") substr($0, 3)
	next
}
/^;[A-Za-z_]+ =/ {
	line = substr($0, 2)
	key = line
	sub(/ =.*/, "", key)
	def = line
	sub(/^[^=]*= ?/, "", def)
	printf ".TP\n.B %s\n%s\n.br\n", esc(key), wrap(esc(help))
	printf "Type: %s", esc(type)
	if (def != "")
		printf "; default: \\fB%s\\fR", esc(def)
	printf ".\n"
	help = ""
	type = ""
	next
}
