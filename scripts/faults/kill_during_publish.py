"""kill -9 of the whole server in the middle of publications, again and again: nothing half-written, nothing lost.

Each round: journalists propose two competing edits on each of a few promises (against the files
as they are), `kb serve --production` starts (a few workers), two editors approve them over HTTP
at once, and after a random number of answers plus a random fraction of a second, the server's whole process group gets SIGKILL (master and
workers, mid-request, possibly mid-write of a file or of the Whoosh index). Then, server down:

- `kb check` passes (every file parses, every quote is in its source);
- no file is half-written: each touched file is a version some request was based on or proposed;
  a request left `approved` was either written (its file holds its text, not yet recorded) or not;
  a published request's file is its text unless a later interrupted one holds it;
- one publish row per published request.

Then the server restarts (it finishes the written-but-unrecorded publications itself), /healthz
must answer ok, the requests still approved are published again by an editor (published or
conflict), none is left approved, and search finds the last published version of every touched
promise and none of the versions that lost (the index coped with the kill).

    .venv/bin/python scripts/faults/kill_during_publish.py [--database postgresql://…] [--rounds 20]
        [--promises-per-round 4] [--kill-window 0.15] [--workers 2] [--threads 2]
"""

from __future__ import annotations

import random
import sys
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as common  # noqa: E402
from sqlalchemy import select, text  # noqa: E402


def _approver(base: str, email: str, numbers: list[int], go: threading.Event, answered: list, sent: list) -> None:
    try:
        client = common.Client(base, timeout=15).login(email)
    except (OSError, RuntimeError):
        return
    go.wait(30)
    for number in numbers:
        sent.append(number)
        try:
            status = client.act(number, "approve")
        except OSError:
            return  # the server was killed under this request
        answered.append((number, status))


def _wait_for_approved(scratch, numbers: list[int], started: float, seconds: float = 10.0) -> None:
    """Return as soon as one of these requests is `approved` (approved, not yet published), or after `seconds`."""
    query = text(f"SELECT 1 FROM change_requests WHERE state = 'approved' AND id IN ({', '.join(map(str, numbers))})")
    with scratch.engine.connect() as connection:
        while time.monotonic() - started < seconds:
            if connection.execute(query).first() is not None:
                return
            connection.rollback()


def _converged(base: str, expected: dict[str, str], absent: dict[str, list[str]], seconds: float = 8.0) -> tuple[bool, float, list[str]]:
    """Poll the search until each promise is found by its last word and by none of its losing words."""
    started = time.monotonic()
    while True:
        wrong = []
        for promise_id, word in expected.items():
            found = common.search_ids(base, word)
            if found is None or promise_id not in found:
                wrong.append(f"{word} → {promise_id} introuvable")
        for promise_id, words in absent.items():
            for word in words:
                found = common.search_ids(base, word)
                if found is None or promise_id in found:
                    wrong.append(f"{word} trouve encore {promise_id} (version périmée)")
        waited = time.monotonic() - started
        if not wrong or waited > seconds:
            return not wrong, waited, wrong
        time.sleep(0.2)


def main() -> int:
    parser = common.arguments(__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20, help="tours (défaut 20)")
    parser.add_argument("--promises-per-round", type=int, default=4, help="promesses visées par tour, deux demandes chacune (défaut 4)")
    parser.add_argument(
        "--kill-window", type=float, default=0.15,
        help="le kill -9 tombe après un nombre de réponses tiré au hasard, puis un délai tiré entre 0 et N s (défaut 0.15)",
    )  # fmt: skip
    parser.add_argument("--workers", type=int, default=2, help="processus gunicorn (défaut 2)")
    parser.add_argument("--threads", type=int, default=2, help="fils par processus (défaut 2)")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    scratch = common.Scratch("kill", args.database, args.keep)
    findings = common.Findings()
    server = None
    totals = Counter()
    restarts: list[float] = []
    convergence: list[float] = []
    print(f"kill_during_publish : base {scratch.kind}, {args.rounds} tours, kb serve --production {args.workers} processus × {args.threads} fils, graine {seed}")
    print("tour  visée      kill(s)  envoyées  répondues  publiées  approuvées:écrites/non-écrites  terminées-au-redémarrage  republiées:pub/conf  tmp  redémarrage(s)  index(s)")
    try:
        scratch.setup()
        words = common.Words()
        for round_number in range(1, args.rounds + 1):
            round_findings = common.Findings()
            promises = rng.sample(scratch.promise_ids(), args.promises_per_round)
            word_of: dict[int, str] = {}
            promise_of: dict[int, str] = {}
            for promise_id in promises:
                for author in common.JOURNALISTS:
                    word = words.next()
                    number = common.propose_edit(scratch, promise_id, word, author)
                    word_of[number], promise_of[number] = word, promise_id
            numbers = list(word_of)
            rng.shuffle(numbers)
            server = common.Server(scratch, args.workers, args.threads, log_name=f"server-{round_number}.log")
            server.start()
            go = threading.Event()
            answered: list = []
            sent: list = []
            threads = [
                threading.Thread(target=_approver, args=(server.base, common.EDITORS[i], numbers[i::2], go, answered, sent), daemon=True)
                for i in range(2)
            ]
            for thread in threads:
                thread.start()
            time.sleep(1.0)  # both logged in
            # The kill lands after a random number of answers, a random instant into the next ones:
            # while requests are in flight (a fixed delay would often fall after the last one).
            # Every other round, the kill aims at the narrow window between the approval's commit and
            # the publication's: as soon as the database shows a request `approved`.
            aimed = round_number % 2 == 0
            after_answers = rng.randrange(len(numbers))
            go.set()
            started = time.monotonic()
            if aimed:
                _wait_for_approved(scratch, numbers, started)
            else:
                while len(answered) < after_answers and time.monotonic() - started < 30:
                    time.sleep(0.001)
                time.sleep(rng.uniform(0.0, args.kill_window))
            delay = time.monotonic() - started
            server.kill9()
            server = None
            for thread in threads:
                thread.join(30)
            # Server down: what the kill left.
            common.check_tree(scratch, round_findings)
            left = common.check_publications(scratch, round_findings, allow_approved=True)
            temporary = len(common.temporary_files(scratch))
            published_before = left["states"]["published"] - totals["published_total_before"]
            # Restart: interrupted publications written but unrecorded are finished by the server itself.
            server = common.Server(scratch, args.workers, args.threads, log_name=f"server-{round_number}-restart.log")
            restart_seconds = server.start()
            restarts.append(restart_seconds)
            status, body = common.http_get(f"{server.base}/healthz")
            round_findings.expect(status == 200 and '"status":"ok"' in body.replace(" ", ""), f"/healthz après redémarrage : {status} {body[:300]}")
            with scratch.sessions()() as session:
                states = {number: session.get(common.ChangeRequest, number).state for number in left["approved_written"]}
            finished = sum(state == "published" for state in states.values())
            round_findings.expect(
                finished == len(left["approved_written"]),
                f"demandes écrites mais non enregistrées pas terminées au redémarrage : {states}",
            )
            retried = Counter()
            if left["approved_unwritten"]:
                client = common.Client(server.base).login(common.EDITORS[2])
                for number in left["approved_unwritten"]:
                    answer = client.act(number, "publish")
                    round_findings.expect(answer == 302, f"republication de la demande {number} : HTTP {answer}")
                    with scratch.sessions()() as session:
                        retried[session.get(common.ChangeRequest, number).state] += 1
            after = common.check_publications(scratch, round_findings, allow_approved=False)
            # Search: the last published version of each touched promise, none of those that lost.
            with scratch.sessions()() as session:
                changes = list(session.scalars(select(common.ChangeRequest).where(common.ChangeRequest.id.in_(numbers))))
            expected, absent = {}, {}
            for promise_id in promises:
                current = common.marker_of(scratch.promise_path(promise_id).read_text(encoding="utf-8"))
                if current in word_of.values():
                    expected[promise_id] = current
                absent[promise_id] = [word_of[c.id] for c in changes if c.target_id == promise_id and word_of[c.id] != current]
            ok, waited, wrong = _converged(server.base, expected, absent)
            convergence.append(waited)
            round_findings.expect(ok, f"recherche pas à jour après {waited:.1f} s : {'; '.join(wrong[:4])}")
            server.stop()
            server = None
            common.check_index(scratch, round_findings)
            during = len(sent) > len(answered)  # killed with at least one approval unanswered
            unanswered = len(sent) - len(answered)
            totals["rounds"] += 1
            totals["kill_mid_run"] += during
            totals["aimed"] += aimed
            totals["sent"] += len(sent)
            totals["answered"] += len(answered)
            totals["in_flight"] += unanswered
            totals["published_before_kill"] += published_before
            totals["approved_written"] += len(left["approved_written"])
            totals["approved_unwritten"] += len(left["approved_unwritten"])
            totals["finished_at_restart"] += finished
            totals["retried_published"] += retried["published"]
            totals["retried_conflict"] += retried["conflict"]
            totals["temporary_files_max"] = max(totals["temporary_files_max"], temporary)
            totals["published_total_before"] = after["states"]["published"]
            mark = "" if not round_findings.problems else "  ← ÉCHEC"
            print(
                f"{round_number:4d}  {'approuvée' if aimed else 'hasard':9}  {delay:7.2f}  {len(sent):8d}  {len(answered):9d}  {published_before:8d}  "
                f"{len(left['approved_written']):>17d}/{len(left['approved_unwritten']):<13d}  {finished:24d}  "
                f"{retried['published']:>10d}/{retried['conflict']:<8d}  {temporary:3d}  {restart_seconds:14.1f}  {waited:8.1f}{mark}",
                flush=True,
            )
            for problem in round_findings.problems:
                findings.fail(f"tour {round_number} : {problem}")
        final = common.check_publications(scratch, findings)
        common.check_tree(scratch, findings)
        print(
            f"totaux : {totals['rounds']} tours ({totals['aimed']} visant une demande « approuvée »), kill avec des approbations en vol {totals['kill_mid_run']} fois ; "
            f"approbations envoyées {totals['sent']}, répondues {totals['answered']}, coupées en vol {totals['in_flight']} ; "
            f"publiées avant le kill {totals['published_before_kill']}"
        )
        print(
            f"laissées approuvées : {totals['approved_written'] + totals['approved_unwritten']} "
            f"(fichier écrit {totals['approved_written']} → terminées au redémarrage {totals['finished_at_restart']} ; "
            f"non écrit {totals['approved_unwritten']} → republiées {totals['retried_published']}, en conflit {totals['retried_conflict']})"
        )
        print(
            f"fin : {final['states']['published']} publiées, {final['states']['conflict']} en conflit, "
            f"{final['states']['approved']} approuvées, {final['states']['submitted']} jamais approuvées (kill avant) ; fichiers temporaires laissés (max par tour) {totals['temporary_files_max']}, "
            f"à la fin {len(common.temporary_files(scratch))}"
        )
        print(
            f"redémarrage jusqu'à /healthz 200 : médiane {common.percentile(restarts, 0.5):.1f} s, max {max(restarts):.1f} s ; "
            f"recherche à jour après redémarrage : max {max(convergence):.1f} s"
        )
    except Exception as error:  # noqa: BLE001
        import traceback

        traceback.print_exc()
        findings.fail(f"l'essai s'est interrompu : {error}")
        if server is not None:
            print(server.log_tail())
    finally:
        if server is not None:
            server.kill9()
        scratch.cleanup()
    return common.verdict(findings, f"kill_during_publish ({scratch.kind})")


if __name__ == "__main__":
    sys.exit(main())
