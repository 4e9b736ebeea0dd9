"""Recognition pipeline: images, video and camera streams to read events (built in a later issue)."""
