from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("studies", "0003_model_timing_run"),
    ]

    operations = [
        migrations.AddField(
            model_name="readerstudy",
            name="case_draw",
            field=models.JSONField(blank=True, default=dict, help_text="The case set, date "
                                   "range, N, seed and strata the cases were drawn with."),
        ),
    ]
