"""Pages of quarantine, under /quarantine/."""

from django.urls import URLPattern, URLResolver, path

from fangkong.quarantine import views as v
from fangkong.quarantine import views_health as vh
from fangkong.quarantine import views_home as vho
from fangkong.quarantine import views_release as vrl
from fangkong.quarantine import views_reserve as vr
from fangkong.quarantine import views_transfers as vt

app_name = "quarantine"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", v.site_index, name="sites"),
    path("allocate/", v.allocate, name="allocate"),
    path("reserve/", vr.reserve, name="reserve"),
    path("home/", vho.home_watch, name="home"),
    path("home/<int:measure_id>/check/", vho.home_check, name="home_check"),
    path("door-events/<int:event_id>/handle/", vho.door_handle, name="door_handle"),
    path("reserve/<int:region_id>/policy/", vr.reserve_policy, name="reserve_policy"),
    path("transfers/", vt.transfer_index, name="transfers"),
    path("transfers/mine/", vt.transfers_mine, name="transfers_mine"),
    path("transfers/<int:transfer_id>/", vt.transfer_detail, name="transfer"),
    path("transfers/<int:transfer_id>/scan/", vt.transfer_scan, name="transfer_scan"),
    path("transfers/<int:transfer_id>/cancel/", vt.transfer_cancel, name="transfer_cancel"),
    path("sites/<int:site_id>/", v.site_detail, name="site"),
    path("sites/<int:site_id>/state/", v.site_state, name="site_state"),
    path("sites/<int:site_id>/health/", vh.site_health, name="site_health"),
    path("stays/<int:stay_id>/health/", vh.stay_health, name="stay_health"),
    path("sites/<int:site_id>/releases/", vrl.site_releases, name="site_releases"),
    path("stays/<int:stay_id>/release/", vrl.release_propose, name="release_propose"),
    path("releases/", vrl.release_queue, name="releases"),
    path("releases/<int:release_id>/notice/", vrl.release_notice, name="release_notice"),
    path("releases/<int:release_id>/<slug:decision>/", vrl.release_decide, name="release_decide"),
    path("sites/<int:site_id>/rooms/import/", v.rooms_import, name="rooms_import"),
    path("rooms/<int:room_id>/state/", v.room_state, name="room_state"),
    path("stays/<int:stay_id>/<slug:action>/", v.stay_action, name="stay_action"),
]
