"""Schedules: a daily look at statistics.gov.scot for a newer SIMD release.

What belongs here: schedule definitions. The release check only asks and says so (as the
tick's skip message in the UI); refreshing stays an analyst's decision, because a new
release changes every published profile.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from pipelines.jobs import REFRESH_STATISTICS
from profiles.live.release import check_release
from profiles.settings import Settings


def release_check_schedule(settings: Settings) -> dg.ScheduleDefinition:
    @dg.schedule(
        name="statistics_release_check",
        cron_schedule="0 6 * * *",
        execution_timezone="Europe/London",
        job_name=REFRESH_STATISTICS,
        default_status=dg.DefaultScheduleStatus.STOPPED,
        description="Every morning, ask statistics.gov.scot whether SIMD was modified since the "
        "last check, and say so in the tick. Never starts a refresh by itself.",
    )
    def statistics_release_check(context: dg.ScheduleEvaluationContext):
        result = check_release(settings.base_url, Path(settings.cache_dir))
        context.log.info(result.message)
        return dg.SkipReason(result.message)

    return statistics_release_check
