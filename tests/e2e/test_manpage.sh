# docs/enquete.1 renders without warnings and documents every command and
# global option that `enquete --help` lists (parsed from the binary).
. "$(dirname "$0")/lib.sh"
page="$ENQUETE_TOP/docs/enquete.1"
[ -f "$page" ] || fail "no $page"
warn=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null)
[ -z "$warn" ] || fail "man --warnings: $warn"
MANWIDTH=200 man -l "$page" 2>/dev/null | col -b > "$tmp/page.txt"
"$ENQUETE_BIN" --help > "$tmp/help.txt" || fail "enquete --help"
# Commands: the indented lines after "Commands:", first word of each.
cmds=$(awk '/^Commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 } on && /^$/ { on = 0 }' "$tmp/help.txt" | sort -u)
[ -n "$cmds" ] || fail "no commands parsed from enquete --help"
n=0
for c in $cmds; do
    n=$((n + 1))
    # A command heading in COMMANDS: the name at the start of an entry.
    grep -Eq "^ {7}$c( |$)" "$tmp/page.txt" || fail "man page lacks command $c"
done
# Global options: every --long option of the Options section.
opts=$(awk '/^Options:/ { on = 1; next } on && /^$/ { on = 0 } on' "$tmp/help.txt" | grep -oE -- '--[a-z-]+' | sort -u)
for o in $opts; do
    grep -q -- "$o" "$tmp/page.txt" || fail "man page lacks option $o"
done
# Each command's own options.
for c in $cmds; do
    for o in $("$ENQUETE_BIN" "$c" --help | grep -oE -- '--[a-z-]+' | sort -u); do
        [ "$o" = "--config" ] || [ "$o" = "--now" ] || [ "$o" = "--help" ] && continue
        grep -q -- "$o" "$tmp/page.txt" || fail "man page lacks $c $o"
    done
done
for s in ENQUETE_CONFIG ENQUETE_NOW "EXIT STATUS" FILES ENVIRONMENT EXAMPLES; do
    grep -q "$s" "$tmp/page.txt" || fail "man page lacks $s"
done
echo "man page: $n commands, renders without warnings"
