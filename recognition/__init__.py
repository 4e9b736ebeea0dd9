"""Recognition pipeline: images, video and camera streams to reads (see :mod:`recognition.base`).

Sources (:mod:`recognition.sources`) -> recognizers (:mod:`recognition.recognizers`: fast-alpr with
local, manifest-checked model files; RapidOCR with the weights inside its wheel) -> plate
normalisation (:mod:`recognition.plates`) -> tracking and dedupe (:mod:`recognition.tracking`) ->
a durable, sealed local queue and its sender (:mod:`recognition.delivery`), in-process or over HTTP.
"""
