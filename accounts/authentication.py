"""`Authorization: Bearer ctir_…` for the REST API, against the hashed ApiToken rows."""

from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from .selectors import token_active
from .services import token_used


class ApiTokenAuthentication(TokenAuthentication):
    # Subclassing DRF's class keeps its header parsing and lets drf-spectacular describe
    # it as a bearer scheme (the docs page's Authorize button takes the bare token).
    keyword = "Bearer"

    def authenticate_credentials(self, key):
        token = token_active(key)
        if token is None:
            raise AuthenticationFailed("Invalid or revoked token.")
        if not token.user.is_active:
            raise AuthenticationFailed("User inactive or deleted.")
        token_used(token=token)
        return token.user, token
