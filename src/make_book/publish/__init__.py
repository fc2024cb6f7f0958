"""Writing outputs so that nothing is lost: atomic files, staging folders, leftovers of killed
builds.
"""
