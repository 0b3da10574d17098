"""The mass-testing API under /api/v1/masstesting/: one router that mounts each part's own
(config/api.py mounts this one)."""

from ninja import Router

from fangkong.masstesting.board.api import router as board_router
from fangkong.masstesting.capacity.api import router as capacity_router
from fangkong.masstesting.lab.api import router as lab_router
from fangkong.masstesting.planning.api import router as planning_router
from fangkong.masstesting.results.api.rechecks import router as rechecks_router
from fangkong.masstesting.results.api.status import router as status_router
from fangkong.masstesting.sampling.api import router as sampling_router

router = Router()
router.add_router("", planning_router)
router.add_router("", sampling_router)
router.add_router("", lab_router)
router.add_router("/capacity", capacity_router)
router.add_router("/status", status_router)
router.add_router("/coverage", board_router)
router.add_router("/rechecks", rechecks_router)
