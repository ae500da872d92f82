"""``GET /inspections/{sector}/{month}``: the month's random inspection list (双随机抽查), as CSV.

The list is drawn by grade (:mod:`creditbrain.alerts.inspection`) from the sector's
subjects and their grades as the store holds them now, with the rates configured
for the sector, and is reproducible from its seed. Each export is audited with the
seed and the number of subjects drawn, so the list can be re-derived and checked.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import PlainTextResponse

from creditbrain.alerts.inspection import Inspectable, draw, to_csv
from creditbrain.api.auth import Allow, Principal, out_of_scope
from creditbrain.api.context import ApiContext, audit, get_context, get_store
from creditbrain.api.problems import FiniteJsonRoute
from creditbrain.api.responses import problem_responses
from creditbrain.infra.store import Store
from creditbrain.runtime.cases import inspection_config

router = APIRouter(prefix="/inspections", tags=["cases"], route_class=FiniteJsonRoute)


@router.get("/{sector}/{month}", response_class=PlainTextResponse, responses=problem_responses(503))
def inspection_list(
    sector: Annotated[str, Path(max_length=64, pattern=r"^[a-z_]+$")],
    month: Annotated[str, Path(pattern=r"^20[0-9]{2}-(0[1-9]|1[0-2])$")],
    seed: Annotated[int, Query(ge=0, le=2**62)],
    principal: Annotated[Principal, Depends(Allow("regulator", "supervisor", "admin"))],
    context: Annotated[ApiContext, Depends(get_context)],
    store: Annotated[Store, Depends(get_store)],
) -> PlainTextResponse:
    """The sector's inspection list for ``month`` (``YYYY-MM``) drawn with ``seed``."""
    if principal.scoped and principal.sectors and sector not in principal.sectors:
        raise out_of_scope()
    where = "sector = {sector:String}"
    params: dict[str, object] = {"sector": sector}
    if principal.scoped and principal.districts:
        where += " AND district IN {districts:Array(String)}"
        params["districts"] = sorted(principal.districts)
    rows = store.query_rows(
        "SELECT subject_id, subject_name, grade, district FROM entity_state FINAL "  # noqa: S608 - fixed fragments, values bound
        f"WHERE {where}",
        params,
    )
    subjects = [
        Inspectable(
            str(r["subject_id"]), str(r["subject_name"]), str(r["grade"]), str(r["district"])
        )
        for r in rows
    ]
    rates = inspection_config(context.settings).rates_for(sector)
    picks = draw(subjects, sector, month, seed=seed, rates=rates)
    audit(
        store, principal, "inspection_list", sector,
        {"month": month, "seed": seed, "subjects": len(subjects), "drawn": len(picks),
         "rates": rates.model_dump()},
    )  # fmt: skip
    return PlainTextResponse(
        to_csv(picks, sector, month, seed),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="inspections-{sector}-{month}.csv"'},
    )
