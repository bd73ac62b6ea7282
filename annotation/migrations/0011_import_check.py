from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("annotation", "0010_import_job"),
    ]

    operations = [
        migrations.AddField(
            model_name="importjob",
            name="check_only",
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name="importjob",
            name="plan",
            field=models.JSONField(blank=True, help_text="The checked file's preview "
                                   "(ImportPlan.to_dict).", null=True),
        ),
        migrations.RemoveConstraint(
            model_name="importjob",
            name="one_active_import",
        ),
        migrations.AddConstraint(
            model_name="importjob",
            constraint=models.UniqueConstraint(
                condition=models.Q(("check_only", False), ("status__in", ["queued", "running"])),
                fields=("project",), name="one_active_import"),
        ),
    ]
