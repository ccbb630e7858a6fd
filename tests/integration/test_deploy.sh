#!/usr/bin/env bash
# deploy/: the Dockerfile and the Kubernetes manifests, without a cluster.
#  - every manifest parses; CronJobs forbid overlap and every pod is sized,
#    non-root and takes its secrets from the Secret, never as literals;
#  - one CronJob per configured account, each syncing exactly that account;
#  - the ConfigMap's config passes `scoresync config --check` with the
#    Secret's keys set to dummy values (so every key is one the code reads);
#  - every environment variable the manifests set is one the config
#    references (${VAR}) or one scoresync reads, and every ${VAR} is set;
#  - each container's arguments parse (`ARGS --help` exits 0);
#  - the Dockerfile builds on this machine's Debian release, runs as non-root;
#    with a working container engine the image is built and run.
source "$(dirname "$0")/lib.sh"
python3 -c 'import yaml' 2>/dev/null ||
  fail "needs python3 with PyYAML (Debian: apt-get install python3-yaml)"
K8S=$SS_SOURCE_DIR/deploy/k8s

python3 - "$K8S" "$T" <<'PY' || fail "manifest checks failed"
import glob, json, os, re, sys
import yaml

k8s, out = sys.argv[1], sys.argv[2]
errors = []
def bad(msg): errors.append(msg)

docs = []
for f in sorted(glob.glob(os.path.join(k8s, "*.yaml"))):
    for d in yaml.safe_load_all(open(f)):
        if d is None:
            continue
        for k in ("apiVersion", "kind", "metadata"):
            if k not in d:
                bad(f"{f}: no {k}")
        docs.append((os.path.basename(f), d))
kinds = {}
for f, d in docs:
    kinds.setdefault(d["kind"], []).append(d)
for k in ("ConfigMap", "Secret", "CronJob", "Job"):
    if k not in kinds:
        bad(f"no {k} in deploy/k8s")

cm = kinds["ConfigMap"][0]
config = cm["data"]["config.yaml"]
open(os.path.join(out, "k8s-config.yaml"), "w").write(config)
referenced = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", config))
secret = kinds["Secret"][0]
secret_keys = set(secret.get("stringData", {}))
for k, v in secret.get("stringData", {}).items():
    if "REPLACE_ME" not in v:
        bad(f"Secret {k}: not a placeholder (real keys never go into git)")
if secret.get("data"):
    bad("Secret: use stringData placeholders, not data")

pods = []
for d in kinds.get("CronJob", []):
    name = d["metadata"]["name"]
    if d["spec"].get("concurrencyPolicy") != "Forbid":
        bad(f"CronJob {name}: concurrencyPolicy must be Forbid")
    pods.append((name, d["spec"]["jobTemplate"]["spec"]["template"]["spec"], True))
for d in kinds.get("Job", []):
    pods.append((d["metadata"]["name"], d["spec"]["template"]["spec"], False))

env_set = set(secret_keys)
cron_accounts = []
for name, spec, cron in pods:
    if not spec.get("securityContext", {}).get("runAsNonRoot"):
        bad(f"{name}: pod must runAsNonRoot")
    if spec.get("restartPolicy") not in ("Never", "OnFailure"):
        bad(f"{name}: restartPolicy")
    for c in spec["containers"]:
        res = c.get("resources", {})
        for part in ("requests", "limits"):
            if "memory" not in res.get(part, {}):
                bad(f"{name}: no memory {part}")
        for e in c.get("env", []):
            env_set.add(e["name"])
            if "value" in e and re.search(r"KEY|SECRET|PASSWORD|DATABASE_URL", e["name"]):
                bad(f"{name}: {e['name']} is a literal; secrets come from the Secret")
            ref = e.get("valueFrom", {}).get("secretKeyRef")
            if ref and (ref["name"] != secret["metadata"]["name"] or ref["key"] not in secret_keys):
                bad(f"{name}: {e['name']} refers to a missing secret key")
        for ef in c.get("envFrom", []):
            if ef.get("secretRef", {}).get("name") != secret["metadata"]["name"]:
                bad(f"{name}: envFrom names an unknown Secret")
        mounts = [v["mountPath"] for v in c.get("volumeMounts", [])]
        if "/etc/scoresync" not in mounts:
            bad(f"{name}: the config is not mounted at /etc/scoresync")
        args = [str(a) for a in c["args"]]
        with open(os.path.join(out, f"args.{name}"), "w") as fh:
            fh.write("\n".join(args) + "\n")
        if cron:
            if args[0] != "sync" or "--vendor" not in args or "--account" not in args:
                bad(f"{name}: a CronJob syncs one account: sync --vendor V --account A")
            else:
                cron_accounts.append(args[args.index("--vendor") + 1] + "/" +
                                     args[args.index("--account") + 1])

cfg = yaml.safe_load(config)
configured = sorted(f"{v}/{a['name']}" for v, vd in cfg["vendors"].items() for a in vd["accounts"])
if sorted(cron_accounts) != configured:
    bad(f"CronJobs cover {sorted(cron_accounts)}, the config has {configured}")

read_by_scoresync = {"DATABASE_URL", "SCORESYNC_CONFIG"}
for v in sorted(env_set - referenced - read_by_scoresync):
    bad(f"environment variable {v} is set but neither the config nor scoresync reads it")
for v in sorted(referenced - env_set):
    bad(f"the config references ${{{v}}} but no manifest sets it")
with open(os.path.join(out, "env.list"), "w") as fh:
    fh.write("\n".join(sorted(env_set)) + "\n")
for e in errors:
    print("  " + e, file=sys.stderr)
print(f"{len(docs)} manifests, {len(pods)} pods, CronJobs for {', '.join(cron_accounts)}")
sys.exit(1 if errors else 0)
PY
pass "manifests parse and agree with each other"

# The ConfigMap's config as scoresync reads it, every secret set to a dummy.
dummy_env=()
while read -r v; do
  [ "$v" = SCORESYNC_CONFIG ] && continue
  case "$v" in DATABASE_URL) dummy_env+=("$v=postgresql:///nowhere") ;; *) dummy_env+=("$v=dummy-$v") ;; esac
done <"$T/env.list"
env "${dummy_env[@]}" "$SS_BIN" --config "$T/k8s-config.yaml" config --check >"$T/check.out" 2>&1 ||
  { cat "$T/check.out"; fail "the ConfigMap's config does not pass config --check"; }
grep -q "dummy-" "$T/check.out" && fail "config --check printed a secret"
n=$(grep -cE '^[a-z]+/[a-z0-9_-]+: ' "$T/check.out" || true)
keyed=$(grep -c "key from environment variable" "$T/check.out" || true)
[ "$n" -gt 0 ] && [ "$keyed" = "$n" ] || fail "config --check: $(cat "$T/check.out")"
pass "the ConfigMap's config passes config --check ($n accounts)"

for f in "$T"/args.*; do
  mapfile -t args <"$f"
  env "${dummy_env[@]}" "$SS_BIN" --config "$T/k8s-config.yaml" "${args[@]}" --help >/dev/null 2>"$T/args.err" ||
    fail "${f##*/args.}: arguments \"${args[*]}\" do not parse: $(cat "$T/args.err")"
done
pass "every container's arguments parse"

DF=$SS_SOURCE_DIR/deploy/Dockerfile
. /etc/os-release
grep -q "^FROM debian:$VERSION_CODENAME AS build" "$DF" || fail "the build stage is not Debian $VERSION_CODENAME"
grep -q "^FROM debian:$VERSION_CODENAME-slim" "$DF" || fail "the final stage is not Debian $VERSION_CODENAME-slim"
grep -q '^USER 10001' "$DF" || fail "the image does not run as a non-root user"
grep -q '^ENTRYPOINT \["/usr/local/bin/scoresync"\]' "$DF" || fail "ENTRYPOINT"
# Runtime stage: no compiler, no -dev package.
sed -n '/^FROM debian:[a-z]*-slim/,$p' "$DF" | grep -Eq -- '-dev\b|gcc|cmake' &&
  fail "the runtime stage installs build tools"
grep -q "registry.example.com/scoresync:0.1.0" "$K8S/cronjobs.yaml" || fail "image tag"
"$SS_BIN" --version | grep -q "scoresync 0.1.0" || fail "the manifests' image tag is not this version"
pass "Dockerfile: Debian $VERSION_CODENAME, non-root, runtime libraries only"

if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
  docker build -q -f "$DF" -t scoresync-test:ci "$SS_SOURCE_DIR" >"$T/docker.log" 2>&1 ||
    { tail -30 "$T/docker.log"; fail "docker build"; }
  docker run --rm scoresync-test:ci --version | grep -q "scoresync 0.1.0" || fail "the image does not run"
  [ "$(docker run --rm --entrypoint id scoresync-test:ci -u)" = 10001 ] || fail "the image runs as root"
  pass "image built and run"
else
  echo "note: no container engine reachable here (docker info failed); image not built"
fi
