# An imported model archive is a version of its own kind ("imported"), longer than the old
# six characters.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('modeling', '0004_alter_modelversion_trigger'),
    ]

    operations = [
        migrations.AlterField(
            model_name='modelversion',
            name='trigger',
            field=models.CharField(choices=[('manual', 'Started by hand'), ('auto', 'Automatic (retrain policy)'), ('first', 'Automatic (first model, as soon as the labels allow)'), ('fast', 'Automatic (fast model, every few new labels)'), ('imported', 'Imported from a model archive')], default='manual', max_length=10),
        ),
    ]
