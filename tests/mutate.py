"""`make mutate`: mutmut over a list of modules, each against the tests that exercise it.

Each module runs in a scratch copy of the project under var/mutate/ (mutmut writes its
`mutants/` tree and reads its configuration from the working directory, so the shared tree is
left alone), with a test database of its own. Prints the mutation score per module: killed
(including timeouts) over all mutants that ran; survivors are listed for `mutmut show`.

    python tests/mutate.py core/urltokens.py projects/access.py
    python tests/mutate.py core/fields.py=tests/core/test_fields.py   # tests given by hand
    MUTATE_DATABASE_PREFIX=mutate_h_ python tests/mutate.py core/fields.py   # databases mutate_h_<module>
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRATCH = ROOT / "var" / "mutate"
APPS = ["accounts", "billing", "config", "core", "files", "projects"]
SKIP = [".git", ".venv", "var", "build", "node_modules", "__pycache__", "artifacts", "*.egg-info", ".venv-*"]
# bench/: tests/conftest.py and several tests import bench.harness (ports, servers).
ALSO_COPY = ["templates", "static", "manage.py", ".env.example", "bench"]

# The tests that exercise each module; a module not named here needs `module=test paths`.
TESTS = {
    "core/urltokens.py": ["tests/core/test_urltokens.py", "tests/files/cdn/test_signed.py"],
    "projects/access.py": ["tests/projects/test_access_decorator.py", "tests/projects/test_access.py"],
    "core/fields.py": ["tests/core/test_fields.py"],
    "accounts/adapter.py": [
        "tests/accounts/test_signup.py",
        "tests/accounts/test_account_flows.py",
        "tests/accounts/test_audit.py",
    ],
    "accounts/services.py": [
        "tests/accounts/test_signup.py",
        "tests/accounts/test_account_flows.py",
        "tests/accounts/test_first_secret.py",
        "tests/accounts/test_bootstrap.py",
        "tests/accounts/test_admin.py",
        "tests/test_admin_actions.py",
    ],
    "projects/services.py": [
        "tests/projects/test_services.py",
        "tests/projects/test_oauth_apps.py",
        "tests/projects/test_views.py",
        "tests/projects/test_tasks.py",
        "tests/projects/test_access.py",
        "tests/security/test_secrets.py",
        "tests/files/cdn/test_signed.py",
        "tests/files/cdn/test_edge.py",
        "tests/accounts/test_audit.py",
        # Keys' scopes and expiry are used by the REST API; a deleted project's purge on S3.
        "tests/files/rest/test_scopes.py",
        "tests/files/rest/test_auth.py",
        "tests/files/storage/test_s3_removal.py",
    ],
    "projects/webhooks/services.py": [
        "tests/projects/webhooks/test_services.py",
        "tests/projects/webhooks/test_views.py",
        "tests/projects/webhooks/test_rest.py",
        "tests/projects/webhooks/test_delivery.py",
        "tests/test_admin_actions.py",
        "tests/accounts/test_audit.py",
    ],
    "billing/services.py": [
        "tests/billing/test_services.py",
        "tests/billing/test_alerts.py",
        "tests/billing/test_pages.py",
        "tests/billing/test_admin.py",
        "tests/accounts/test_audit.py",
    ],
    # file_upload runs under nearly every test (the factories call it); these are the ones about files' own
    # rules and the API errors of copies (835 mutants: over an hour).
    "files/services.py": [
        "tests/files/test_lifecycle.py",
        "tests/files/test_upload_safety.py",
        "tests/files/test_events.py",
        "tests/files/uploads/test_views.py",
        "tests/files/rest/test_files.py",
        "tests/files/rest/test_local_copy.py",
        "tests/files/rest/test_remote_copy.py",
        "tests/files/storage/test_custom_storage.py",
        "tests/files/media/test_analysis.py",
        "tests/files/dashboard/test_views.py",
        "tests/projects/test_views.py",
        "tests/billing/test_enforcement.py",
    ],
}


def run(module: str, tests: list[str]) -> tuple[int, int, list[str]] | None:
    """(killed, mutants, survivors), or None when mutmut itself failed (its error is above)."""
    slug = re.sub(r"\W+", "_", module.removesuffix(".py"))
    work = SCRATCH / slug
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    # The working tree as it is (other people's uncommitted files included), so the tests see what they import.
    shutil.copytree(ROOT, work, ignore=shutil.ignore_patterns(*SKIP), dirs_exist_ok=True)
    # pyproject.toml has no [tool.mutmut], so mutmut reads setup.cfg.
    (work / "setup.cfg").write_text(
        "[mutmut]\n"
        + "source_paths=\n"
        + "".join(f"    {app}\n" for app in APPS)
        + f"only_mutate={module}\n"
        + "also_copy=\n"
        + "".join(f"    {path}\n" for path in ALSO_COPY)
        # One argument a line: mutmut reads a one-line value as a single argument, and pytest took
        # "-p no:randomly -q --reuse-db" as one plugin name, so --reuse-db never reached pytest-django.
        + "pytest_add_cli_args=\n    --reuse-db\n"
        + "pytest_add_cli_args_test_selection=\n"
        + "".join(f"    {path}\n" for path in tests)
    )
    # MUTATE_DATABASE_PREFIX keeps two people's runs of the same module off each other's database.
    dbname = os.environ.get("MUTATE_DATABASE_PREFIX", "mutate_") + slug
    environment = {
        **os.environ,
        "DATABASE_URL": os.environ.get("MUTATE_DATABASE_URL", "postgres://root@127.0.0.1:5432/") + dbname,
    }
    # --reuse-db lets every mutant's run share one test database; drop last time's, whose schema may be old.
    # A kept database leaves pytest-django's renamed settings in place, so each later session in mutmut's
    # process keeps one more, test_test_<name> and so on (the mutants' runs share the last): drop them all.
    database = environment["DATABASE_URL"].rpartition("/")[0] + "/postgres"
    drop = (
        "import psycopg\n"
        f"server = psycopg.connect({database!r}, autocommit=True)\n"
        f"query = 'SELECT datname FROM pg_database WHERE datname ~ %s', [{f'^(test_)+{dbname}$'!r}]\n"
        "for (name,) in server.execute(*query).fetchall():\n"
        "    server.execute(f'DROP DATABASE \"{name}\"')\n"
    )
    subprocess.run([sys.executable, "-c", drop], check=True)
    mutmut = str(Path(sys.executable).with_name("mutmut"))
    # One mutant at a time: the mutants' runs share that one test database. Two at once (mutmut's
    # default, a child per core) without --reuse-db created and dropped it under each other, and a
    # run that lost it failed before any test ran, counted as a kill whatever the mutant was.
    if subprocess.run([mutmut, "run", "--max-children", "1"], cwd=work, env=environment, check=False).returncode:
        return None
    listing = subprocess.run(
        [mutmut, "results", "--all", "true"], cwd=work, env=environment, capture_output=True, text=True
    ).stdout
    statuses = re.findall(r"^\s*(\S+): (\w[\w ]*)$", listing, re.M)
    killed = sum(status in ("killed", "timeout") for _, status in statuses)
    counted = [(name, status) for name, status in statuses if status not in ("skipped", "not checked")]
    survivors = [name for name, status in counted if status in ("survived", "no tests")]
    return killed, len(counted), survivors


def main(arguments: list[str]) -> int:
    scores = []
    for argument in arguments:
        module, _, given = argument.partition("=")
        tests = given.split(",") if given else TESTS.get(module)
        if not tests:
            print(f"{module}: no tests known; give them as {module}=tests/a.py,tests/b.py", file=sys.stderr)
            return 2
        scores.append((module, run(module, tests)))
    print("\nMutation score per module (killed / mutants):")
    for module, result in scores:
        if result is None:
            print(f"  {module}: mutmut failed, no score")
            continue
        killed, total, survivors = result
        share = f"{100 * killed / total:.0f} %" if total else "n/a"
        print(f"  {module}: {killed}/{total} = {share}")
        for name in survivors:
            print(f"      survived: {name}")
    # A run that scored nothing is a broken run, not a perfect one: make mutate fails.
    return 1 if any(result is None or not result[1] for _, result in scores) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
