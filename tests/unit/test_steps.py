"""The flow's steps: which failures are retried (transient) and which fail at once."""


def test_transient_failures_are_io_and_connections_not_bad_data():
    from mlflow.exceptions import MlflowException

    from components.project import DlopsError
    from components.validation.gx_runner import ValidationFailed, ValidationReport
    from pipelines.steps import transient

    def raised_from(cause, exc):
        try:
            raise exc from cause
        except Exception as error:
            return error

    assert transient(OSError("disk"))
    assert transient(ConnectionRefusedError())
    assert transient(raised_from(OSError("push failed"), DlopsError("DVC could not version")))
    assert transient(MlflowException("API request to http://mlflow/api failed with exception x"))
    assert not transient(DlopsError("data.source: CSV file not found: x.csv"))
    assert not transient(ValueError("bug"))
    assert not transient(FileNotFoundError("no such file")) and not transient(PermissionError())
    assert not transient(
        MlflowException("API request to http://m/api failed with error code 403 != 200")
    )
    assert transient(
        MlflowException("API request to http://m/api failed with error code 503 != 200")
    )

    class UploadError(Exception):  # DVC's, by name: a push that did not reach the remote
        pass

    assert transient(raised_from(UploadError(2), DlopsError("DVC could not version data/mlp")))

    def hidden():
        try:
            try:
                raise ConnectionError("refused")
            except ConnectionError:
                raise DlopsError("a user error worded over it") from None
        except DlopsError as error:
            return error

    assert not transient(hidden())  # `from None` hides the context
    report = ValidationReport(family="mlp", success=False, failures=["x"])
    assert not transient(raised_from(OSError("x"), ValidationFailed(report)))
