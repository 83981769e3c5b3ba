#!/usr/bin/env bash
# The "today" baseline: the bash + openssl CLI loop people actually run.
#
#   bash bench/openssl_loop.sh CORPUS OUT        (PASSWORD_FILE=... to override CORPUS/passwords.txt)
#
# 1. normalise: every file is detected by content (PEM armour, else a leading 0x30
#    byte tried as DER certificate, DER key, then PKCS#12 with an empty password and
#    each password in turn via -passin file:) and split into one PEM per block;
# 2. index: fingerprint (dedupe), subject/issuer hash + basicConstraints, and the
#    SHA-256 of the public key of every certificate and key (x509 -pubkey / pkey -pubout);
# 3. export: for every non-CA certificate whose public key matches a key: subject,
#    dates, SHA-1 thumbprint, chain by issuer hash, pkcs12 -export -passout pass:,
#    base64 into OUT/<name>/secret.json.  OUT/manifest.json counts items and errors,
#    OUT/errors.txt lists them.
# About 10 openssl runs and 15-20 process spawns in all per item, depending on its shape.  Passwords never
# appear on a command line: each is written (by the printf builtin) to a mode-600
# file and passed as -passin file:PATH.
set -u -o pipefail
[ $# -eq 2 ] || { echo "usage: $0 CORPUS OUT" >&2; exit 2; }
CORPUS=$1 OUT=$2
OPENSSL=${OPENSSL:-openssl}
PWFILE=${PASSWORD_FILE:-$CORPUS/passwords.txt}
START=$SECONDS
umask 077
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$OUT" "$WORK/pw" "$WORK/pem"
: > "$WORK/errors"

npw=0
if [ -f "$PWFILE" ]; then
    while IFS= read -r pw || [ -n "$pw" ]; do
        pw=${pw%$'\r'}
        [ -n "$pw" ] || continue
        npw=$((npw + 1))
        printf '%s\n' "$pw" > "$WORK/pw/$npw"
    done < "$PWFILE"
fi

err() { printf '%s\n' "$*" >> "$WORK/errors"; }

n=0
split_pem() {  # one file per PEM block: $WORK/pem/<n>-<i>.c.pem (certificate) / .k.pem (key)
    awk -v pfx="$WORK/pem/$n" '
        /^-----BEGIN / { i++; t = ($0 ~ /PRIVATE KEY-----/) ? "k" : (($0 ~ /BEGIN CERTIFICATE-----/) ? "c" : "x")
                         f = pfx "-" i "." t ".pem" }
        f != "" { print > f }
        /^-----END / && f != "" { close(f); f = "" }' "$1"
}

try_p12() {
    local out="$WORK/p12.pem" pw
    if "$OPENSSL" pkcs12 -in "$1" -nodes -passin pass: -out "$out" 2>/dev/null; then
        split_pem "$out"; return 0
    fi
    for pw in "$WORK"/pw/*; do
        [ -f "$pw" ] || continue
        if "$OPENSSL" pkcs12 -in "$1" -nodes -passin "file:$pw" -out "$out" 2>/dev/null; then
            split_pem "$out"; return 0
        fi
    done
    return 1
}

# ---- 1. normalise
nfiles=0
while IFS= read -r -d '' f <&3; do
    nfiles=$((nfiles + 1))
    [ "$f" -ef "$PWFILE" ] && continue
    n=$((n + 1))
    if grep -q -- '-----BEGIN ' "$f"; then
        split_pem "$f"
        continue
    fi
    c=
    IFS= read -r -N1 c < "$f" 2>/dev/null
    [ "$c" = 0 ] || continue          # not 0x30 (DER SEQUENCE): not certificate material
    case "$f" in
        *.[pP][fF][xX] | *.[pP]12) order="p12 x509 pkey" ;;
        *) order="x509 pkey p12" ;;
    esac
    ok=
    for t in $order; do
        case $t in
            x509) "$OPENSSL" x509 -inform DER -in "$f" -out "$WORK/pem/$n-1.c.pem" 2>/dev/null && ok=1 ;;
            pkey) "$OPENSSL" pkey -inform DER -in "$f" -out "$WORK/pem/$n-1.k.pem" 2>/dev/null && ok=1 ;;
            p12) try_p12 "$f" && ok=1 ;;
        esac
        [ -n "$ok" ] && break
    done
    [ -n "$ok" ] || { rm -f "$WORK/pem/$n-1.c.pem" "$WORK/pem/$n-1.k.pem"; err "$f: not a DER certificate, key, or PKCS#12 we can open"; }
done 3< <(find "$CORPUS" -type f -print0 | sort -z) < /dev/null  # openssl must not eat the list

# ---- 2. index
declare -A KEYS SEEN SUBJ ISS
LEAVES=()
for k in "$WORK"/pem/*.k.pem; do
    [ -e "$k" ] || continue
    h=$("$OPENSSL" pkey -in "$k" -pubout 2>/dev/null | "$OPENSSL" sha256 -r) || { err "$k: bad key"; continue; }
    KEYS[${h%% *}]=$k
done
for c in "$WORK"/pem/*.c.pem; do
    [ -e "$c" ] || continue
    info=$("$OPENSSL" x509 -in "$c" -noout -fingerprint -sha256 -subject_hash -issuer_hash \
           -ext basicConstraints 2>/dev/null) || { err "$c: bad certificate"; continue; }
    { read -r fp; read -r sh; read -r ih; } <<< "$info"
    [ -n "${SEEN[$fp]:-}" ] && continue
    SEEN[$fp]=1
    ISS[$c]=$ih
    if [[ $info == *CA:TRUE* ]]; then
        SUBJ[$sh]=$c
        continue
    fi
    h=$("$OPENSSL" x509 -in "$c" -noout -pubkey | "$OPENSSL" sha256 -r) || continue
    LEAVES+=("$c ${h%% *} $sh $ih")
done

# ---- 3. export
items=0
for rec in "${LEAVES[@]}"; do
    read -r c ph sh ih <<< "$rec"
    key=${KEYS[$ph]:-}
    [ -n "$key" ] || continue
    meta=$("$OPENSSL" x509 -in "$c" -noout -subject -nameopt RFC2253 -dates -fingerprint -sha1) || continue
    { read -r subject; read -r nb; read -r na; read -r x5t; } <<< "$meta"
    subject=${subject#subject=}
    x5t=${x5t#*=}; x5t=${x5t//:/}
    cn=
    [[ $subject =~ (^|,)CN=([^,]+) ]] && cn=${BASH_REMATCH[2]}
    name=${cn//\*/wildcard}; name=${name//[^A-Za-z0-9-]/-}
    while [[ $name == *--* ]]; do name=${name//--/-}; done
    name=${name#-}; name=${name%-}; name=${name:-${x5t,,}}
    base=$name; i=1
    while [ -e "$OUT/$name" ]; do i=$((i + 1)); name="$base-$i"; done
    cas=() cur=$ih self=$sh
    while [ "$cur" != "$self" ] && [ -n "${SUBJ[$cur]:-}" ] && [ ${#cas[@]} -lt 8 ]; do
        ca=${SUBJ[$cur]}
        cas+=("$ca")
        self=$cur cur=${ISS[$ca]}
    done
    chainopt=()
    if [ ${#cas[@]} -gt 0 ]; then
        cat "${cas[@]}" > "$WORK/chain.pem"
        chainopt=(-certfile "$WORK/chain.pem")
    fi
    if ! "$OPENSSL" pkcs12 -export -in "$c" -inkey "$key" "${chainopt[@]}" -name "$cn" \
            -passout pass: -out "$WORK/out.pfx" 2>/dev/null; then
        err "$c: pkcs12 -export failed"; continue
    fi
    mkdir -p "$OUT/$name"
    b64=$(base64 -w0 "$WORK/out.pfx")
    s=${subject//\\/\\\\}; s=${s//\"/\\\"}
    printf '{"value": "%s", "contentType": "application/x-pkcs12", "tags": {"x5t": "%s", "subject": "%s", "notBefore": "%s", "notAfter": "%s"}}\n' \
        "$b64" "${x5t,,}" "$s" "${nb#notBefore=}" "${na#notAfter=}" > "$OUT/$name/secret.json"
    items=$((items + 1))
done

cp "$WORK/errors" "$OUT/errors.txt"
nerr=$(grep -c "" "$WORK/errors")
printf '{"items": %d, "files": %d, "errors": %d, "seconds": %d}\n' "$items" "$nfiles" "$nerr" $((SECONDS - START)) > "$OUT/manifest.json"
echo "openssl_loop: $items items from $nfiles files ($nerr errors) in $((SECONDS - START))s" >&2
