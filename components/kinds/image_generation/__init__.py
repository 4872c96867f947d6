"""Image generation (the GAN): a folder of class subfolders → new images of a chosen class."""
