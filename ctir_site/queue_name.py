"""Prints this instance's queue for a role: `python -m ctir_site.queue_name training`.

Procfile.prod starts one worker per queue with `-Q "$(python -m ctir_site.queue_name ROLE)"`:
queue names start with CTIR_INSTANCE, which defaults to the database's name, so only the
settings know them. Loads the settings module alone (no app registry, no database).
"""

import os
import sys


def main(argv: list[str]) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ctir_site.settings")
    from django.conf import settings

    queues = settings.CTIR_QUEUES
    if len(argv) != 1 or argv[0] not in queues:
        print(f"usage: python -m ctir_site.queue_name {{{'|'.join(queues)}}}", file=sys.stderr)
        return 2
    print(queues[argv[0]])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
