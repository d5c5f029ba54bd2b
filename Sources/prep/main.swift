import PrepKit
print("prep")
