// PrepKit
