"""moto's server for the race, with its EC2 tag lookup made direct (runs in the moto venv).

    python moto_server.py -H 127.0.0.1 -p PORT      (the arguments of ``python -m moto.server``)

moto answers "which tags does this resource have?" by scanning every tag of the region with a
regular expression per entry (``TaggedEC2Resource.get_tags`` calls ``describe_tags`` with a
``resource-id`` filter), and it asks that for every group and every rule it describes. At 5,000
tagged groups that is 5,000 x 5,000 matches for one DescribeSecurityGroups answer and 55,000 x
5,000 for DescribeSecurityGroupRules: minutes of moto CPU that real EC2 does not spend. Here the
lookup reads the resource's own tags from the same dictionary: the same tags, in the same order,
for every call of either tool.
"""

from __future__ import annotations

import sys

from moto.ec2.models.core import TaggedEC2Resource
from moto.ec2.utils import EC2_PREFIX_TO_RESOURCE, get_prefix
from moto.server import main


def get_tags(self) -> list[dict[str, str]]:
    resource_id = getattr(self, "id", None)
    if not resource_id:
        return []
    tags = self.ec2_backend.tags.get(resource_id) or {}  # .get: never adds an empty entry
    kind = EC2_PREFIX_TO_RESOURCE.get(get_prefix(resource_id), "")
    return [{"resource_id": resource_id, "key": key, "value": value, "resource_type": kind}
            for key, value in tags.items()]


TaggedEC2Resource.get_tags = get_tags

if __name__ == "__main__":
    main(sys.argv[1:])
