"""hongwu worker: fires due timers and runs due jobs (async steps of cases)."""
from __future__ import annotations

import os
import socket
import time

import typer

from engine.runtime.background import expire_results
from engine.runtime.jobs import run_due_jobs

from . import _common


def register(app: typer.Typer) -> None:
    @app.command()
    def worker(once: bool = typer.Option(False, "--once", help="触发当前到期的计时器后退出"),
               interval: float = typer.Option(5.0, "--interval", help="轮询间隔（秒）"),
               as_json: bool = typer.Option(False, "--json")) -> None:
        """触发到期计时器（公示期、投票期、调解期限等），执行后台任务（如印制选票）。"""
        from engine.notifications.service import Notifications

        rt = _common.runtime()
        _common.register_job_kinds()
        notifications = Notifications(rt)
        worker_id = f"{socket.gethostname()}:{os.getpid()}"
        with _common.errors_exit():
            # Cases saved by earlier versions with a readied but unrun timer: run them on once.
            resumed = rt.resume_stuck_cases(worker_id)
            if resumed:
                typer.echo(f"已恢复 {len(resumed)} 个停滞案件 resumed stuck case(s): {', '.join(resumed)}", err=True)
            if once:
                fired = rt.run_due_timers(worker_id)
                ran = run_due_jobs(rt, worker_id)
                expire_results(rt)
                rt.audit_checkpoint(if_due=True)  # run from cron, --once also keeps checkpoints coming
                notifications.run_periodic(worker_id)  # due/overdue notices, digests, the outbox
                _common.emit({"fired": fired, "jobs": ran}, as_json,
                             f"已触发 {fired} 个计时器，完成 {ran} 个后台任务 fired {fired} timer(s), ran {ran} job(s)")
                return
            typer.echo(f"worker {worker_id} 运行中 running (Ctrl-C 停止)", err=True)
            backoff = interval
            try:
                while True:
                    try:
                        fired = rt.run_due_timers(worker_id)
                        ran = run_due_jobs(rt, worker_id)
                        expire_results(rt, if_due=True)
                    except Exception as exc:  # e.g. the database restarting: say so, wait longer, go on
                        backoff = min(max(backoff, interval) * 2, 300.0)
                        typer.echo(f"计时器触发失败，{backoff:.0f} 秒后重试 timer run failed, retrying in "
                                   f"{backoff:.0f}s: {exc}", err=True)
                        time.sleep(backoff)
                        continue
                    backoff = interval
                    if fired or ran:
                        typer.echo(f"fired {fired}, jobs {ran}", err=True)
                    try:
                        rt.audit_checkpoint(if_due=True)
                    except Exception as exc:  # a missing key file must not stop the timers
                        typer.echo(f"审计检查点写入失败 audit checkpoint failed: {exc}", err=True)
                    report = notifications.run_periodic(worker_id)  # logs its own failures
                    if report.get("sent") or report.get("failed") or report.get("announced"):
                        typer.echo(f"notifications {report}", err=True)
                    time.sleep(interval)
            except KeyboardInterrupt:
                pass
