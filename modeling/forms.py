"""The Models page's inputs. The recipe's numbers are checked by one rule for the page and
the API alike (services.recipe_clean, reached through services.training_request), so the
form only carries them, NUL-free, to it."""

from django import forms


class TrainForm(forms.Form):
    epochs = forms.CharField(required=False)
    seeds = forms.CharField(required=False)
    max_length = forms.CharField(required=False)
    start_from = forms.CharField(required=False)
    auto_promote = forms.BooleanField(required=False)

    def recipe(self) -> dict:
        return {k: self.cleaned_data[k] for k in ("epochs", "seeds", "max_length")}


class RetrainPolicyForm(forms.Form):
    mode = forms.CharField(required=False)
    every = forms.CharField(required=False)


class ModelArchiveForm(forms.Form):
    """An uploaded model archive; services.model_archive_import checks what is in it."""

    file = forms.FileField(error_messages={"required": "choose a model archive (.zip) to "
                                                       "upload"})


def form_problem(form: forms.Form) -> str:
    """An invalid form's errors in one line, field names first."""
    return "; ".join(f"{name}: {' '.join(errors)}" for name, errors in form.errors.items())
