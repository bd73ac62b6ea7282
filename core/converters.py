"""URL converters every app's urls use."""


class RowId:
    """A row id or number in a URL: 1 to 18 digits, what a 64-bit key holds. A longer one
    matches no route, so it is a 404 on every database (SQLite raises OverflowError on an
    integer past 64 bits, which would be a 500)."""

    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value) -> str:
        return str(value)
