"""Image classification (the CNN): a folder of class subfolders of images."""
