from django.db import migrations

# Values are copied here, not imported, so this migration means the same thing forever.
GUIDELINE = """Label the principal procedure of the session: the one it was requested for.
1 Drainage: a fluid or gas collection is drained or aspirated (abscess, empyema, loculated
  effusion or ascites, biloma, urinoma, lymphocele, seroma, haematoma, pancreatic collection,
  symptomatic or infected cyst with or without sclerotherapy; a drained lung abscess is 1).
2 Soft-tissue / fat lesion biopsy: a solid lesion in soft-tissue or fat density is sampled
  (liver, pancreas, kidney, adrenal, spleen, lymph nodes of any station, mesentery, omentum,
  peritoneum, retroperitoneum, muscle, subcutis, pleura, mediastinum, chest wall).
3 Lung biopsy: a lesion of the lung parenchyma is sampled (nodule, mass, consolidation).
4 Bone biopsy: a lesion in bone or marrow is sampled, including disc or vertebra for
  suspected spondylodiscitis.
Hard cases, in order: history, prior and planned procedures do not count; managing a
complication does not change the category; the tissue actually sampled decides (pleural
mass 2, node reached through lung 2, soft-tissue part of a bone tumour without crossing bone
2); when a collection is drained as the aim it is 1, incidental fluid during a biopsy is not;
an aborted procedure keeps the intended category; negated events did not happen."""

CATEGORIES = [
    (1, "Drainage", "A fluid or gas collection is drained or aspirated", "1", "#0ea5e9"),
    (2, "Soft-tissue / fat lesion biopsy", "A solid lesion in soft-tissue or fat density is sampled",
     "2", "#f59e0b"),
    (3, "Lung biopsy", "A lesion of the lung parenchyma is sampled", "3", "#10b981"),
    (4, "Bone biopsy", "A lesion in bone or marrow is sampled", "4", "#8b5cf6"),
]


def create(apps, schema_editor):
    Project = apps.get_model("annotation", "Project")
    Category = apps.get_model("annotation", "Category")
    project, _ = Project.objects.get_or_create(
        slug="ct-ir",
        defaults={
            "name": "CT-guided IR reports",
            "description": "Technique category of CT-guided interventional radiology reports.",
            "guideline": GUIDELINE,
        },
    )
    for code, name, description, key, colour in CATEGORIES:
        Category.objects.get_or_create(
            project=project, code=code,
            defaults={"name": name, "description": description, "key": key, "colour": colour},
        )


def remove(apps, schema_editor):
    apps.get_model("annotation", "Project").objects.filter(slug="ct-ir", reports=None).delete()


class Migration(migrations.Migration):
    dependencies = [("annotation", "0001_initial")]
    operations = [migrations.RunPython(create, remove)]
