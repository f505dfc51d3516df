"""Many editors approving at once: every approval ends published or in conflict, nothing half-applied.

Before the run, journalists propose and submit PROCESSES × APPROVALS edits spread over PROMISES
promise files, every one made against the file as it is then (so for each promise exactly one can
be published; the others must go to `conflict`). Then PROCESSES processes, each logged in as its
own editor, wait behind a barrier and approve their share as fast as they can: over HTTP through
`kb serve --production` (several gunicorn workers, default) or, with --direct, by calling
kb.newsroom.workflow.approve in each process with a Publisher holding the engine (PostgreSQL advisory lock).

Checks: kb check passes; every request is published or conflict; one <kind>.publish row per
published request (none for the others); exactly one publication per promise; each file is the
proposed text of its last publication; searching each published marker word finds its promise;
the index opens with one document per file, each at its file's hash.

    .venv/bin/python scripts/faults/concurrent_publishes.py [--database postgresql://…] [--direct]
        [--processes 5] [--approvals-per-process 10] [--promises 10] [--workers 3] [--threads 2]
"""

from __future__ import annotations

import multiprocessing
import random
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as common  # noqa: E402


def _approve_over_http(base: str, email: str, numbers: list[int], barrier) -> list[tuple[int, int, float]]:
    client = common.Client(base).login(email)
    barrier.wait(120)
    done = []
    for number in numbers:
        started = time.perf_counter()
        try:
            status = client.act(number, "approve")
        except OSError as error:
            status = -1
            print(f"  ! demande {number} : {error}", flush=True)
        done.append((number, status, time.perf_counter() - started))
    return done


def _approve_directly(url: str, content: str, instance: str, email: str, numbers: list[int], barrier) -> list[tuple[int, int, float]]:
    from kb.newsroom import workflow
    from kb.store.accounts import find_user
    from kb.content.tree import read_tree
    from kb.store.db import open_database
    from kb.search.index import SearchIndex

    sessions = open_database(url, upgrade=False)
    index = SearchIndex(Path(instance) / "index", Path(content))
    publisher = workflow.Publisher(
        Path(content), Path(instance) / "publish.lock", after_publish=[lambda target: index.reindex([target])], git=False,
        engine=sessions.kw["bind"],
    )  # fmt: skip
    barrier.wait(120)
    done = []
    for number in numbers:
        started = time.perf_counter()
        with sessions() as session:
            editor = find_user(session, email)
            change = session.get(workflow.ChangeRequest, number)
            try:
                outcome = workflow.approve(session, read_tree(Path(content)), change, editor, publisher)
                status = {"published": 1, "conflict": 2}[outcome]
            except workflow.WorkflowError as error:
                print(f"  ! demande {number} : {error}", flush=True)
                status = -1
        done.append((number, status, time.perf_counter() - started))
    sessions.kw["bind"].dispose()
    return done


def main() -> int:
    parser = common.arguments(__doc__.split("\n\n")[0])
    parser.add_argument("--processes", type=int, default=5, help="processus approbateurs simultanés (défaut 5)")
    parser.add_argument("--approvals-per-process", type=int, default=10, help="approbations par processus (défaut 10)")
    parser.add_argument("--promises", type=int, default=10, help="promesses visées (défaut 10)")
    parser.add_argument("--direct", action="store_true", help="kb.newsroom.workflow.approve dans chaque processus au lieu de HTTP")
    parser.add_argument("--workers", type=int, default=3, help="processus gunicorn (mode HTTP, défaut 3)")
    parser.add_argument("--threads", type=int, default=2, help="fils par processus gunicorn (défaut 2)")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    scratch = common.Scratch("concurrent", args.database, args.keep)
    server = None
    findings = common.Findings()
    mode = "direct (kb.newsroom.workflow.approve)" if args.direct else f"HTTP, kb serve --production {args.workers} processus × {args.threads} fils"
    print(f"concurrent_publishes : base {scratch.kind}, {mode}, graine {seed}")
    try:
        scratch.setup()
        words = common.Words()
        promises = rng.sample(scratch.promise_ids(), args.promises)
        total = args.processes * args.approvals_per_process
        word_of: dict[int, str] = {}
        target_of: dict[int, str] = {}
        for j in range(total):
            promise_id = promises[j % len(promises)]
            word = words.next()
            number = common.propose_edit(scratch, promise_id, word, common.JOURNALISTS[j % len(common.JOURNALISTS)])
            word_of[number], target_of[number] = word, promise_id
        numbers = list(word_of)
        rng.shuffle(numbers)
        shares = [numbers[i :: args.processes] for i in range(args.processes)]
        print(f"{total} demandes proposées et soumises sur {len(promises)} promesses ; {args.processes} processus × {args.approvals_per_process}")
        if not args.direct:
            server = common.Server(scratch, args.workers, args.threads)
            server.start()
        context = multiprocessing.get_context("spawn")
        barrier = context.Manager().Barrier(args.processes + 1)
        with context.Pool(args.processes) as pool:
            if args.direct:
                jobs = [
                    pool.apply_async(_approve_directly, (scratch.url, str(scratch.content), str(scratch.instance), common.EDITORS[i % len(common.EDITORS)], share, barrier))
                    for i, share in enumerate(shares)
                ]  # fmt: skip
            else:
                jobs = [
                    pool.apply_async(_approve_over_http, (server.base, common.EDITORS[i % len(common.EDITORS)], share, barrier))
                    for i, share in enumerate(shares)
                ]
            barrier.wait(120)
            started = time.perf_counter()
            results = [job.get(600) for job in jobs]
            elapsed = time.perf_counter() - started
        answers = [item for result in results for item in result]
        latencies = [seconds for _, _, seconds in answers]
        statuses = Counter(status for _, status, _ in answers)
        if not args.direct:
            findings.expect(set(statuses) == {302}, f"réponses HTTP autres que 302 : {dict(statuses)}")
        else:
            findings.expect(-1 not in statuses, "des approbations ont échoué")
        common.check_tree(scratch, findings)
        report = common.check_publications(scratch, findings)
        states = report["states"]
        with scratch.sessions()() as session:
            from sqlalchemy import select

            published = {
                change.id: change.target_id
                for change in session.scalars(select(common.ChangeRequest).where(common.ChangeRequest.state == "published"))
            }
        per_promise = Counter(published.values())
        for promise_id in promises:
            findings.expect(per_promise[promise_id] == 1, f"{promise_id} : {per_promise[promise_id]} publication(s) (une seule attendue : même base)")
        stale_before = None
        if server is not None:
            time.sleep(0.5)  # PUBLICATION_POLL_SECONDS: each worker reads the log at its next request
            for number, promise_id in published.items():
                found = common.search_ids(server.base, word_of[number])
                findings.expect(found is not None and promise_id in found, f"la recherche de {word_of[number]} ne trouve pas {promise_id} ({found})")
            server.stop()
            server = None
        else:
            # What a server does at its next request: catch up on the publication log.
            index = common.SearchIndex(scratch.instance / "index", scratch.content)
            probe = common.Findings()
            stale_before = common.check_index(scratch, probe)["stale"]
            index.catch_up([f"promise:{promise_id}" for promise_id in promises])
        index_figures = common.check_index(scratch, findings)
        print(
            f"approbations : {total} en {elapsed:.2f} s ({total / elapsed:.1f}/s) ; publiées {states['published']}, "
            f"en conflit {states['conflict']}, autres {total - states['published'] - states['conflict']}"
        )
        print(f"publications/s : {states['published'] / elapsed:.1f} ; latence d'une approbation p50 {common.percentile(latencies, 0.5) * 1000:.0f} ms, "
              f"p90 {common.percentile(latencies, 0.9) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms")  # fmt: skip
        print(f"réponses : {dict(statuses)} ; index : {index_figures['documents']} documents, {index_figures['stale']} en retard"
              + (f" ({stale_before} avant rattrapage par le journal des publications)" if stale_before is not None else ""))  # fmt: skip
        print(f"fichiers temporaires laissés : {len(common.temporary_files(scratch))}")
        findings.expect(not common.temporary_files(scratch), "fichiers temporaires laissés dans le contenu")
    except Exception as error:  # noqa: BLE001 — a crash of the script is a FAIL with its reason
        import traceback

        traceback.print_exc()
        findings.fail(f"l'essai s'est interrompu : {error}")
        if server is not None:
            print(server.log_tail())
    finally:
        if server is not None:
            server.stop()
        scratch.cleanup()
    return common.verdict(findings, f"concurrent_publishes ({scratch.kind})")


if __name__ == "__main__":
    sys.exit(main())
