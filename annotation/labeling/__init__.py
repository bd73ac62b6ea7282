"""The labeling queue: claims, answers, timing, double reading, adjudication, agreement."""
