"""AWS: security groups, network ACLs and what they guard, across regions and accounts.

``fetch`` makes the boto3 calls, ``normalize`` (with ``rules`` and ``network``) turns the raw
payloads into model objects, ``audit`` attributes drift to CloudTrail events. boto3 is imported
only inside functions, so importing this package costs nothing for other providers.
"""

from providers.aws.normalize import normalize_scope
from providers.aws.provider import AwsProvider

__all__ = ["AwsProvider", "normalize_scope"]
