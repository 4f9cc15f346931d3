"""hongwu serve: the web app under uvicorn."""
from __future__ import annotations

import os
import threading

import typer

from . import _common

KEEP_ALIVE_S = 75


def default_workers(database_url: str) -> int:
    """One process on SQLite (a file has one writer at a time); several on PostgreSQL."""
    if database_url.startswith("sqlite"):
        return 1
    return max(2, min(4, os.cpu_count() or 2))


JOB_POLL_SECONDS = 2.0  # a person waits for a job's progress bar to start: look for jobs often


def start_timer_thread(interval: float) -> threading.Event:
    """Fire due timers in the background of the serving process, so that a single `make run`
    also closes publicity periods and escalates deadlines. Safe beside `hongwu worker`: timers are
    claimed, never fired twice. It also runs due jobs (async steps, e.g. ballot printing), claimed
    the same way. Setting the returned event stops the thread."""
    import socket

    from engine.notifications.service import Notifications
    from engine.runtime.background import expire_results
    from engine.runtime.jobs import run_due_jobs

    rt = _common.runtime()
    _common.register_job_kinds()
    notifications = Notifications(rt)
    worker_id = f"serve:{socket.gethostname()}:{os.getpid()}"

    stop = threading.Event()

    def loop() -> None:
        wait = interval
        while not stop.is_set():
            try:
                rt.run_due_timers(worker_id)
                if run_due_jobs(rt, worker_id, limit=1):
                    wait = 0.2  # one job at a time, so the timers are never held up for long
                else:
                    wait = min(interval, JOB_POLL_SECONDS)
                expire_results(rt, if_due=True)  # finished jobs' files past their keeping time
            except Exception as exc:  # keep serving; say what went wrong and back off
                wait = min(wait * 2, 300.0)
                typer.echo(f"计时器触发失败 timer run failed: {exc}", err=True)
            try:
                rt.audit_checkpoint(if_due=True)
            except Exception as exc:
                typer.echo(f"审计检查点写入失败 audit checkpoint failed: {exc}", err=True)
            notifications.run_periodic(worker_id)  # due/overdue notices, digests, the outbox; logs its failures
            stop.wait(wait)

    threading.Thread(target=loop, name="hongwu-timers", daemon=True).start()
    return stop


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(host: str = typer.Option("127.0.0.1", "--host", help="监听地址"),
              port: int = typer.Option(8000, "--port", help="端口"),
              workers: int | None = typer.Option(None, "--workers", help="工作进程数（SQLite 为 1；PostgreSQL 默认 2–4）"),
              reload: bool = typer.Option(False, "--reload", help="代码变动时自动重启（开发用）"),
              timers: bool = typer.Option(True, "--timers/--no-timers",
                                          help="同时在后台触发到期计时器（另行运行 hongwu worker 时可关闭）"),
              interval: float = typer.Option(30.0, "--timer-interval", help="计时器轮询间隔（秒）")) -> None:
        """启动网页服务（工作人员与审计人员使用的页面和 /api 接口）。"""
        import uvicorn

        settings = _common.settings()
        if port < 1 or port > 65535:
            _common.fail(f"--port must be 1–65535 / 端口应在 1–65535 之间: {port}")
        n = workers if workers is not None else default_workers(settings.database_url)
        if n < 1:
            _common.fail("--workers must be at least 1 / 工作进程数至少为 1")
        if n > 1 and settings.database_url.startswith("sqlite"):
            typer.echo("提示 note: SQLite 只用 1 个工作进程 (SQLite runs with one worker)", err=True)
            n = 1
        # Worker processes re-read the environment: pass the chosen database and the secret on.
        os.environ["HONGWU_DATABASE_URL"] = settings.database_url
        os.environ.setdefault("HONGWU_SECRET_KEY", settings.secret_key)
        # QR codes point at HONGWU_BASE_URL; unset, the address being served is the best guess.
        from engine.config import base_url_warning

        base_url = os.environ.setdefault("HONGWU_BASE_URL", f"http://{host}:{port}").rstrip("/")
        problem = base_url_warning(base_url)
        typer.echo(f"文书二维码地址 QR base URL: {base_url}" + (f"\n警告 warning: {problem}" if problem else ""), err=True)
        typer.echo(f"hongwu 网页服务 web app: http://{host}:{port}/  ({n} worker{'s' if n > 1 else ''}, "
                   f"{settings.database_url.split('://', 1)[0]})", err=True)
        if timers:
            start_timer_thread(interval)
        # Idle connections are kept longer than a person pauses between clicks and than a reverse
        # proxy keeps its upstream ones (nginx: 60 s): with uvicorn's 5 s, the server closed
        # connections just as clients reused them, and those requests failed unanswered
        # (bench/http.py: "Server disconnected without sending a response").
        uvicorn.run("engine.web.app:app_from_env", factory=True, host=host, port=port, workers=n if not reload else None,
                    reload=reload, proxy_headers=True, log_level="info", timeout_keep_alive=KEEP_ALIVE_S)
