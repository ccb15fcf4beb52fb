"""``targetwatch dashboards push``: upload the generated dashboards into a Grafana folder through its API,
for Grafana instances that are not provisioned from files (``config/provisioning/grafana``)."""

from __future__ import annotations

import copy

from targetwatch.grafana import connect

FOLDER_UID = "targetwatch"
FOLDER_TITLE = "目标监测"  # the folder the provisioning file names too


def push(url: str, api_token: str, boards: dict[str, dict], *, folder_uid: str = FOLDER_UID,
         folder_title: str = FOLDER_TITLE) -> list[str]:
    """Create the folder when it is missing, then create or overwrite every dashboard in it; the uids pushed."""
    from grafana_client.client import GrafanaClientError

    grafana = connect(url, api_token)
    try:
        grafana.folder.get_folder(folder_uid)
    except GrafanaClientError as exc:
        if exc.status_code != 404:
            raise
        grafana.folder.create_folder(folder_title, uid=folder_uid)
    pushed = []
    for uid, board in sorted(boards.items()):
        body = copy.deepcopy(board)
        body.pop("id", None)  # Grafana matches by uid; a stale numeric id would be refused
        grafana.dashboard.update_dashboard({"dashboard": body, "folderUid": folder_uid, "overwrite": True,
                                            "message": "targetwatch dashboards push"})
        pushed.append(uid)
    return pushed
