import django.db.models.deletion
from django.db import migrations, models

# The composite indexes that start with project_id serve every lookup by project, so the
# foreign keys' own indexes go. Only the indexes: AlterField would drop and re-add the
# foreign key on PostgreSQL (a scan of every report under an exclusive lock) and rebuild
# both tables on SQLite.
INDEXES = [("annotation_report_project_id_a1d8551a", "annotation_report"),
           ("annotation_patient_project_id_364d9703", "annotation_patient")]


class Migration(migrations.Migration):

    dependencies = [
        ('annotation', '0015_report_split_date_index'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='patient',
                    name='project',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='patients', to='annotation.project'),
                ),
                migrations.AlterField(
                    model_name='report',
                    name='project',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='reports', to='annotation.project'),
                ),
            ],
            database_operations=[
                migrations.RunSQL(f'DROP INDEX IF EXISTS "{name}"',
                                  f'CREATE INDEX "{name}" ON "{table}" ("project_id")')
                for name, table in INDEXES
            ],
        ),
    ]
